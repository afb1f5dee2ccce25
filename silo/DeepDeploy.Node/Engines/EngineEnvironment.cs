using System.Collections;

namespace DeepDeploy.Node.Engines;

/// <summary>The environment every engine starts with: built from nothing, never inherited, so that none of the
/// host's secrets (database connection, operator token, HF_TOKEN, cloud credentials) reaches code a tenant chose.
/// A profile's own <see cref="EngineProfile.Environment"/> is added on top by the operator's choice.</summary>
public static class EngineEnvironment
{
    /// <summary>Names the instance in the engine's environment: how a restarted node recognises its orphans,
    /// whatever the engine's command line (external engines do not carry our <c>--instance-id</c>).</summary>
    public const string InstanceVariable = "DEEPDEPLOY_INSTANCE_ID";

    /// <summary>Passed through from the host: what finds executables and runs the dotnet worker; nothing else.</summary>
    static readonly string[] Passed = ["PATH", "LANG", "TZ"];

    const string DotnetPrefix = "DOTNET_";

    /// <summary>The operator's OpenTelemetry settings (OTLP endpoint, protocol, sampler) reach engines, so that their
    /// spans join the gateway's traces; not the exporter's headers, which may hold the collector's credentials, nor the host's
    /// service name (engines name themselves).</summary>
    const string OtelPrefix = "OTEL_";

    /// <summary>The engine's TMPDIR, inside its working directory.</summary>
    public static string TempDirectory(string workingDirectory) => Path.Combine(workingDirectory, "tmp");

    public static Dictionary<string, string> For(string instanceId, string workingDirectory, IReadOnlyList<int> gpuIndices)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (entry is { Key: string key, Value: string value } && (Passed.Contains(key, StringComparer.Ordinal) || key.StartsWith(DotnetPrefix, StringComparison.Ordinal)
                    || (key.StartsWith(OtelPrefix, StringComparison.Ordinal) && !key.Contains("HEADERS", StringComparison.Ordinal) && key != "OTEL_SERVICE_NAME")))
            {
                environment[key] = value;
            }
        }

        environment["HOME"] = workingDirectory;
        environment["TMPDIR"] = TempDirectory(workingDirectory);
        environment["CUDA_VISIBLE_DEVICES"] = string.Join(',', gpuIndices);
        // Engines load the snapshot the node downloaded; they must not fetch anything (code included) themselves.
        environment["HF_HUB_OFFLINE"] = "1";
        environment["TRANSFORMERS_OFFLINE"] = "1";
        environment["HF_HOME"] = Path.Combine(workingDirectory, "hf");
        environment[InstanceVariable] = instanceId;
        return environment;
    }
}
