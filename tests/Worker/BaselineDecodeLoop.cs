using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;

namespace DeepDeploy.Tests.Worker;

/// <summary>
/// The yardstick for the worker's batching: the smallest LLamaSharp loop that does the same work in-process —
/// prefill each prompt, then one llama_decode per step holding every sequence's next token, greedy argmax on the
/// logits. No HTTP, no sampling pipelines, no bookkeeping; same context settings as the worker.
/// </summary>
public static class BaselineDecodeLoop
{
    /// <summary>Generates <paramref name="tokens"/> tokens for each prompt; returns the aggregate tokens/s
    /// (prefill included, as the worker's figure includes it).</summary>
    public static double Run(string modelPath, IReadOnlyList<string> prompts, int tokens, int threads)
    {
        var p = new ModelParams(modelPath)
        {
            ContextSize = (uint)(prompts.Count * 512),
            BatchSize = 512,
            UBatchSize = 512,
            SeqMax = (uint)prompts.Count,
            KVUnified = true,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
            FlashAttention = true,
        };
        using var weights = LLamaWeights.LoadFromFile(p);
        using var context = weights.CreateContext(p);
        var batch = new LLamaBatch();
        var logitsAt = new int[prompts.Count];
        var positions = new int[prompts.Count];

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
        return prompts.Count * tokens / sw.Elapsed.TotalSeconds;
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
