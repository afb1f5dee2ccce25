namespace DeepDeploy.LocalHub;

/// <summary>
/// Writes a tiny llama-architecture GGUF (v3, F32) with deterministic pseudo-random weights.
/// It is meant for tests and for seeding a local model hub: under 1 MB, loads in milliseconds; its vocabulary is
/// whole English words and punctuation (<see cref="WordVocabulary"/>) with byte fallback, so its random output
/// reads as a string of words (meaningless) while it fully exercises tokenization, batching and sampling.
/// The same seed always gives byte-identical files.
/// </summary>
public static class TinyLlamaGguf
{
    private const int ContextLength = 4096;
    private const float RmsEps = 1e-5f;

    // Residual-stream dimension 0 carries a constant that no layer writes to; output rows of the
    // control tokens (<unk>, <s>, </s>) read it with a large negative weight. This keeps the model
    // from emitting end-of-sequence (or other control tokens), so generations run to max_tokens.
    private const float AnchorValue = 1.0f;
    private const float ControlTokenPenalty = -20f;

    // The same anchor biases the output against byte tokens and the bare space, so answers read as words and
    // punctuation rather than bytes that look like a broken encoding (any input still tokenizes through the bytes).
    private const float ByteTokenBias = -4f;

    public static void Write(string path, int seed = 42) => Write(path, seed, LlamaShape.Tiny);

    /// <summary>Writes a model of another <paramref name="shape"/> (same vocabulary and weight recipe), e.g.
    /// <see cref="LlamaShape.Bench"/> for benchmarks where compute must dominate.</summary>
    public static void Write(string path, int seed, LlamaShape shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        shape.Validate();
        var fullPath = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(dir))
            Directory.CreateDirectory(dir);

        var writer = Build(seed, shape);
        var tmp = $"{fullPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                writer.WriteTo(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
                File.Delete(tmp);
        }
    }

    private static GgufWriter Build(int seed, LlamaShape shape)
    {
        var (nEmbd, nLayer, nHead, nFf) = (shape.EmbeddingLength, shape.LayerCount, shape.HeadCount, shape.FeedForwardLength);
        var (tokens, types, scores) = BuildVocab();
        var nVocab = tokens.Count;

        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.AddString("general.name", shape == LlamaShape.Tiny
            ? $"deepdeploy-tiny-llama-seed{seed}"
            : $"deepdeploy-llama-{nEmbd}x{nLayer}-seed{seed}");
        w.AddUInt32("general.alignment", 32);
        w.AddUInt32("general.file_type", 0); // all F32
        w.AddUInt32("llama.context_length", ContextLength);
        w.AddUInt32("llama.embedding_length", (uint)nEmbd);
        w.AddUInt32("llama.block_count", (uint)nLayer);
        w.AddUInt32("llama.feed_forward_length", (uint)nFf);
        w.AddUInt32("llama.attention.head_count", (uint)nHead);
        w.AddUInt32("llama.attention.head_count_kv", (uint)nHead);
        w.AddUInt32("llama.rope.dimension_count", (uint)(nEmbd / nHead));
        w.AddFloat32("llama.attention.layer_norm_rms_epsilon", RmsEps);
        w.AddString("tokenizer.ggml.model", "llama");
        w.AddStringArray("tokenizer.ggml.tokens", tokens);
        w.AddFloat32Array("tokenizer.ggml.scores", scores);
        w.AddInt32Array("tokenizer.ggml.token_type", types);
        w.AddUInt32("tokenizer.ggml.unknown_token_id", 0);
        w.AddUInt32("tokenizer.ggml.bos_token_id", 1);
        w.AddUInt32("tokenizer.ggml.eos_token_id", 2);
        w.AddBool("tokenizer.ggml.add_bos_token", true);
        w.AddBool("tokenizer.ggml.add_eos_token", false);

        var rng = new SplitMix64((ulong)(uint)seed ^ 0x9E3779B97F4A7C15UL);

        // token_embd: {n_embd, n_vocab} -> one row of n_embd values per token.
        var embd = Random(rng, nEmbd * nVocab, 0.5f);
        for (var t = 0; t < nVocab; t++)
            embd[t * nEmbd] = AnchorValue;
        w.AddTensorF32("token_embd.weight", [(ulong)nEmbd, (ulong)nVocab], embd);

        for (var l = 0; l < nLayer; l++)
        {
            var p = $"blk.{l}.";
            w.AddTensorF32(p + "attn_norm.weight", [(ulong)nEmbd], Ones(nEmbd));
            w.AddTensorF32(p + "attn_q.weight", [(ulong)nEmbd, (ulong)nEmbd], Random(rng, nEmbd * nEmbd, Scale(nEmbd)));
            w.AddTensorF32(p + "attn_k.weight", [(ulong)nEmbd, (ulong)nEmbd], Random(rng, nEmbd * nEmbd, Scale(nEmbd)));
            w.AddTensorF32(p + "attn_v.weight", [(ulong)nEmbd, (ulong)nEmbd], Random(rng, nEmbd * nEmbd, Scale(nEmbd)));
            var wo = Random(rng, nEmbd * nEmbd, Scale(nEmbd));
            ZeroRow(wo, 0, nEmbd); // keep the anchor dimension untouched
            w.AddTensorF32(p + "attn_output.weight", [(ulong)nEmbd, (ulong)nEmbd], wo);
            w.AddTensorF32(p + "ffn_norm.weight", [(ulong)nEmbd], Ones(nEmbd));
            w.AddTensorF32(p + "ffn_gate.weight", [(ulong)nEmbd, (ulong)nFf], Random(rng, nEmbd * nFf, Scale(nEmbd)));
            var down = Random(rng, nFf * nEmbd, Scale(nFf));
            ZeroRow(down, 0, nFf);
            w.AddTensorF32(p + "ffn_down.weight", [(ulong)nFf, (ulong)nEmbd], down);
            w.AddTensorF32(p + "ffn_up.weight", [(ulong)nEmbd, (ulong)nFf], Random(rng, nEmbd * nFf, Scale(nEmbd)));
        }

        w.AddTensorF32("output_norm.weight", [(ulong)nEmbd], Ones(nEmbd));
        var output = Random(rng, nEmbd * nVocab, 1.0f);
        for (var t = 0; t < nVocab; t++)
            output[t * nEmbd] = OutputBias(tokens[t], types[t]);
        w.AddTensorF32("output.weight", [(ulong)nEmbd, (ulong)nVocab], output);
        return w;
    }

    private const int TokenTypeNormal = 1;
    private const int TokenTypeUnknown = 2;
    private const int TokenTypeControl = 3;
    private const int TokenTypeByte = 6;

    private static float OutputBias(string token, int type) => type switch
    {
        TokenTypeControl or TokenTypeUnknown => ControlTokenPenalty,
        TokenTypeByte => ByteTokenBias,
        _ when token == WordVocabulary.Space => ByteTokenBias,
        _ => 0f,
    };

    private static (List<string> Tokens, List<int> Types, List<float> Scores) BuildVocab()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { TokenTypeUnknown, TokenTypeControl, TokenTypeControl };
        var scores = new List<float> { 0f, 0f, 0f };
        for (var b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(TokenTypeByte);
            scores.Add(0f);
        }
        var pieces = WordVocabulary.Pieces;
        for (var i = 0; i < pieces.Count; i++)
        {
            tokens.Add(pieces[i]);
            types.Add(TokenTypeNormal);
            scores.Add(-(i + 1)); // SentencePiece merges prefer higher scores
        }
        return (tokens, types, scores);
    }

    private static float Scale(int fanIn) => 1.0f / MathF.Sqrt(fanIn);

    private static float[] Ones(int n)
    {
        var a = new float[n];
        Array.Fill(a, 1f);
        return a;
    }

    private static float[] Random(SplitMix64 rng, int n, float amplitude)
    {
        var a = new float[n];
        for (var i = 0; i < n; i++)
            a[i] = rng.NextSignedUnit() * amplitude;
        return a;
    }

    private static void ZeroRow(float[] matrix, int row, int rowLength) =>
        Array.Clear(matrix, row * rowLength, rowLength);

    /// <summary>SplitMix64: tiny, fast, platform-independent PRNG (unlike System.Random's unspecified algorithm).</summary>
    private sealed class SplitMix64(ulong state)
    {
        private ulong _state = state;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [-1, 1), built from the top 24 bits so the float conversion is exact.</summary>
        public float NextSignedUnit() => (int)(Next() >> 40) / (float)(1 << 23) - 1f;
    }
}
