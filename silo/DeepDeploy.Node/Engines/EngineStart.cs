using System.Globalization;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Node.Engines;

/// <summary>How to start one engine process. <see cref="Endpoint"/> is known up front for an external engine
/// (the node gave it a port); null for the built-in worker, which binds port 0 and announces the port it got.
/// <see cref="Environment"/> is the whole environment (see <see cref="EngineEnvironment"/>), nothing inherited;
/// <see cref="WorkingDirectory"/> is the instance's own folder under the node's run directory.</summary>
public sealed record EngineStart(
    string FileName,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    string? Endpoint,
    string WorkingDirectory)
{
    /// <summary>libgomp's setting for how a thread waits at a barrier, read when llama.cpp's CPU backend loads.</summary>
    public const string OpenMpWaitPolicy = "OMP_WAIT_POLICY";

    static string DotnetPath => System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>The built-in gpu-worker, <c>dotnet DeepDeploy.GpuWorker.dll</c>, on the node's CPU threads.</summary>
    public static EngineStart ForWorker(NodeOptions options, EngineInstance instance, string modelPath, string workingDirectory)
    {
        var launch = instance.Launch;
        string[] arguments =
        [
            options.WorkerPath,
            Protocol.Args.Model, modelPath,
            Protocol.Args.Host, options.WorkerHost,
            Protocol.Args.Port, "0",
            Protocol.Args.MaxBatchSize, launch.MaxBatchSize.ToString(CultureInfo.InvariantCulture),
            Protocol.Args.Threads, options.WorkerThreads.ToString(CultureInfo.InvariantCulture),
            Protocol.Args.ServedModelName, launch.ModelName,
            Protocol.Args.InstanceId, launch.InstanceId,
            Protocol.Args.ApiKey, instance.Secret,
            .. (options.WorkerArgs ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries),
        ];
        var environment = EngineEnvironment.For(launch.InstanceId, workingDirectory, instance.GpuIndices);
        if (options.WorkerThreads > 1)
        {
            // Instances share the node's cores. A spinning OpenMP team stalls at every barrier while another
            // process holds one of its cores (docs/worker.md: 43 against 235 tokens/s at 8 sequences under load);
            // passive waiting sleeps there instead.
            environment[OpenMpWaitPolicy] = "PASSIVE";
        }

        return new EngineStart(DotnetPath, arguments, environment, Endpoint: null, workingDirectory);
    }

    /// <summary>An external engine from its profile's templates, listening on <paramref name="port"/>. The
    /// instance's secret is the <c>{api_key}</c> placeholder (vLLM, SGLang: <c>--api-key {api_key}</c>).</summary>
    public static EngineStart ForProfile(NodeOptions options, EngineInstance instance, EngineProfile profile, string modelPath, int port,
        string workingDirectory)
    {
        var launch = instance.Launch;
        var values = EngineCommand.Values(launch, instance.GpuIndices, options.WorkerHost, port, modelPath, options.WorkerPath, DotnetPath, instance.Secret);
        var environment = EngineEnvironment.For(launch.InstanceId, workingDirectory, instance.GpuIndices);
        foreach (var (key, value) in profile.Environment)
        {
            environment[key] = EngineCommand.Fill(value, values).Text;
        }

        var host = options.WorkerHost.Contains(':') ? $"[{options.WorkerHost}]" : options.WorkerHost;
        return new EngineStart(EngineCommand.Fill(profile.Command, values).Text, EngineCommand.Arguments(profile.Args, values, launch.ExtraArgs),
            environment, $"http://{host}:{port.ToString(CultureInfo.InvariantCulture)}", workingDirectory);
    }
}
