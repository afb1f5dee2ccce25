using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node.Engines;

/// <summary>
/// An external engine: any OpenAI-compatible server started from a command template. Example (vLLM):
/// <code>
/// "Engines": { "vllm": {
///   "Command": "vllm",
///   "Args": "serve {model_path} --host {host} --port {port} --tensor-parallel-size {tensor_parallel_size} --max-num-seqs {max_batch_size} --served-model-name {served_model_name} --api-key {api_key} [--quantization {quantization}] {extra_args}",
///   "Formats": "safetensors", "HealthPath": "/health", "LoadMetrics": "vllm:num_requests_running,vllm:num_requests_waiting" } }
/// </code>
/// Placeholders: <c>{gpus}</c> (CUDA indices, "0,1"), <c>{num_gpus}</c>, <c>{tensor_parallel_size}</c> (= num_gpus),
/// <c>{port}</c> (picked by the node), <c>{host}</c>, <c>{max_batch_size}</c>, <c>{served_model_name}</c>,
/// <c>{model_path}</c> (the snapshot folder for safetensors, the file for GGUF), <c>{quantization}</c>,
/// <c>{instance_id}</c>, <c>{worker}</c> (our DeepDeploy.GpuWorker.dll), <c>{dotnet}</c> (the dotnet host),
/// <c>{api_key}</c> (the instance's secret, which the gateway presents as a bearer token), and
/// <c>{extra_args}</c>, a token of its own that becomes the deployment's <c>extra_args</c>, each one argument.
/// Arguments are split on spaces before substitution, so values never split or inject arguments. A group in
/// square brackets, <c>[--quantization {quantization}]</c>, is left out when a placeholder in it is empty.
/// </summary>
public sealed class EngineProfile
{
    /// <summary>The executable (templated), e.g. <c>vllm</c>, <c>/opt/llama.cpp/llama-server</c>.</summary>
    public string Command { get; set; } = "";

    /// <summary>The arguments template.</summary>
    public string Args { get; set; } = "";

    /// <summary>Weights formats it takes, comma-separated: <c>safetensors</c>, <c>gguf</c>.</summary>
    public string Formats { get; set; } = WeightsFormats.Safetensors;

    /// <summary>Answers 200 once the model is loaded (vLLM and llama-server: <c>/health</c>).</summary>
    public string HealthPath { get; set; } = "/health";

    /// <summary>Prometheus text endpoint the load is read from.</summary>
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>Metrics summed into the engine's load, comma-separated (vLLM: <c>vllm:num_requests_running,vllm:num_requests_waiting</c>;
    /// llama-server: <c>llamacpp:requests_processing,llamacpp:requests_deferred</c>).</summary>
    public string LoadMetrics { get; set; } = "";

    /// <summary>Flags a deployment's <c>extra_args</c> may set, e.g. <c>["--max-model-len", "--dtype"]</c>; empty: none.
    /// See <see cref="ExtraArgsPolicy"/>.</summary>
    public List<string> AllowedArgs { get; set; } = [];

    /// <summary>Whether a snapshot download takes every file of the repo, code (<c>*.py</c>) included, instead of only the
    /// weights, config and tokenizer files (see <see cref="Weights.WeightsFiles"/>). Default false: only for engines trusted
    /// to run a repo's code, since a flag like <c>--trust-remote-code</c> would run it.</summary>
    public bool AllowCodeFiles { get; set; }

    /// <summary>Extra environment variables for the process (values templated).</summary>
    public Dictionary<string, string> Environment { get; set; } = [];

    public bool Takes(string format) => Formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Contains(format, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> LoadMetricNames => LoadMetrics.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
