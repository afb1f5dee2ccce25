namespace DeepDeploy.Node.Weights;

/// <summary>
/// Which files of a repo a snapshot download takes: the weights in the format that runs, and the config and
/// tokenizer files engines read. Everything else, <c>*.py</c> above all, only when the engine profile opts in with
/// <c>AllowCodeFiles</c>: an engine flag such as <c>--trust-remote-code</c> would run a tenant's code on the node.
/// </summary>
public static class WeightsFiles
{
    static readonly HashSet<string> ConfigNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "config.json", "generation_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "vocab.txt",
        "merges.txt", "preprocessor_config.json", "processor_config.json", "chat_template.json", "chat_template.jinja",
        "params.json", "tekken.json", "spiece.model", "quantize_config.json", "hf_quant_config.json",
    };

    /// <summary>Weight formats other than the one that runs: never taken, code files allowed or not.</summary>
    static readonly string[] WeightExtensions = [".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx", ".h5", ".msgpack", ".ckpt", ".tflite", ".ot"];

    /// <summary>The files of <paramref name="files"/> an engine running <paramref name="format"/> weights gets.</summary>
    public static IReadOnlyList<string> Select(IEnumerable<string> files, string format, bool allowCodeFiles) =>
        files.Where(f => Takes(f, format, allowCodeFiles)).ToList();

    public static bool Takes(string path, string format, bool allowCodeFiles)
    {
        var name = Path.GetFileName(path);
        var weights = "." + format;
        if (name.EndsWith(weights, StringComparison.OrdinalIgnoreCase) || name.EndsWith(weights + ".index.json", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (WeightExtensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        return allowCodeFiles || IsConfigOrTokenizer(name);
    }

    static bool IsConfigOrTokenizer(string name) =>
        ConfigNames.Contains(name)
        || name.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase)
        || (name.StartsWith("tokenizer", StringComparison.OrdinalIgnoreCase)
            && (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".model", StringComparison.OrdinalIgnoreCase)
                || IsVersionedSentencePiece(name)));

    /// <summary>Mistral's <c>tokenizer.model.v3</c>.</summary>
    static bool IsVersionedSentencePiece(string name)
    {
        const string Prefix = "tokenizer.model.v";
        return name.Length > Prefix.Length && name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && name[Prefix.Length..].All(char.IsAsciiDigit);
    }
}
