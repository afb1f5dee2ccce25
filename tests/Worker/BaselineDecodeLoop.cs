using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// The yardstick for the worker's batching: the smallest LLamaSharp loop that does the same work in-process —
/// prefill each prompt, then one llama_decode per step holding every sequence's next token, greedy argmax on the
/// logits. No HTTP, no sampling pipelines, no bookkeeping; same context settings as the worker. The weights stay
/// loaded across runs and each run starts with an untimed warm-up decode, as the worker is warm when measured.
/// </summary>
public sealed class BaselineDecodeLoop : IDisposable
{
    readonly string _modelPath;
    readonly int _threads;
    readonly LLamaWeights _weights;

    public BaselineDecodeLoop(string modelPath, int threads)
    {
        _modelPath = modelPath;
        _threads = threads;
        _weights = LLamaWeights.LoadFromFile(Params(modelPath, 1, threads));
    }

    public void Dispose() => _weights.Dispose();

    /// <summary>Generates <paramref name="tokens"/> tokens for each prompt; returns the aggregate tokens/s
    /// (prefill included, as the worker's figure includes it) and this process's CPU time per generated token over
    /// the same span (llama.cpp's OpenMP threads included; nothing else of this process runs meanwhile).</summary>
    public (double TokensPerSecond, TimeSpan CpuPerToken) Run(IReadOnlyList<string> prompts, int tokens)
    {
        var p = Params(_modelPath, prompts.Count, _threads);
        using var context = _weights.CreateContext(p);
        var batch = new LLamaBatch();
        var warmUp = context.Tokenize("warm up", true, false);
        for (var i = 0; i < warmUp.Length; i++)
        {
            batch.Add(warmUp[i], i, (LLamaSeqId)0, i == warmUp.Length - 1);
        }

        Decode(context, batch);
        context.NativeHandle.MemoryClear(true);
        return Measure(context, batch, prompts, tokens);
    }

    static ModelParams Params(string modelPath, int sequences, int threads) =>
        new(modelPath)
        {
            ContextSize = (uint)(sequences * 512),
            BatchSize = 512,
            UBatchSize = 512,
            SeqMax = (uint)sequences,
            KVUnified = true,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
            FlashAttention = true,
        };

    static (double, TimeSpan) Measure(LLamaContext context, LLamaBatch batch, IReadOnlyList<string> prompts, int tokens)
    {
        var logitsAt = new int[prompts.Count];
        var positions = new int[prompts.Count];

        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        for (var s = 0; s < prompts.Count; s++)
        {
            var prompt = context.Tokenize(prompts[s], true, false);
            for (var i = 0; i < prompt.Length; i++)
            {
                logitsAt[s] = batch.Add(prompt[i], i, (LLamaSeqId)s, i == prompt.Length - 1);
            }

            positions[s] = prompt.Length;
        }

        Decode(context, batch);
        for (var step = 0; step < tokens; step++)
        {
            var next = new LLamaToken[prompts.Count];
            for (var s = 0; s < prompts.Count; s++)
            {
                next[s] = ArgMax(context.NativeHandle.GetLogitsIth(logitsAt[s]));
            }

            for (var s = 0; s < prompts.Count; s++)
            {
                logitsAt[s] = batch.Add(next[s], positions[s]++, (LLamaSeqId)s, true);
            }

            Decode(context, batch);
        }

        sw.Stop();
        self.Refresh();
        var generated = prompts.Count * tokens;
        return (generated / sw.Elapsed.TotalSeconds, (self.TotalProcessorTime - cpu) / generated);
    }

    static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"decode failed: {result}");
        }

        batch.Clear();
    }

    static LLamaToken ArgMax(Span<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}
