using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Cli;

/// <summary>The real, built deepctl (copied to deepctl/ beside the tests), run as a process with its own home
/// directory (so ~/.deepdeploy/config is the test's, deleted on dispose) against one host; no token reaches it through
/// argv.</summary>
public sealed class Deepctl(Uri host) : IDisposable
{
    static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    readonly TempDirectory _home = TempDirectory.Create("deepctl-home-");

    public string Home => _home.Path;

    public string ConfigPath => Path.Combine(Home, ".deepdeploy", "config");

    /// <summary>Starts deepctl; <paramref name="token"/> goes in DEEPDEPLOY_TOKEN when given (else the saved config counts).</summary>
    public ProcessHost Start(IEnumerable<string> args, string? token = null) =>
        ProcessHost.Start("deepctl", ProcessHost.DotnetHost, [Path.Combine(AppContext.BaseDirectory, "deepctl", "deepctl.dll"), .. args],
            new Dictionary<string, string>
            {
                ["HOME"] = Home,
                ["DEEPDEPLOY_HOST"] = host.ToString(),
                ["DEEPDEPLOY_TOKEN"] = token ?? "",
            }, AppContext.BaseDirectory, input: true);

    /// <summary>Runs deepctl to its end with <paramref name="stdin"/> as its whole input.</summary>
    public async Task<DeepctlRun> RunAsync(string[] args, string? stdin = null, string? token = null)
    {
        await using var process = Start(args, token);
        if (stdin is not null)
        {
            await process.Input.WriteAsync(stdin);
        }

        process.Input.Close();
        Assert.True(await process.WaitForExitAsync(RunTimeout), $"deepctl {string.Join(' ', args)} did not end:\n{process.Output.Tail()}");
        return new DeepctlRun(process.ExitCode, process.Output.Stdout, process.Output.Stderr);
    }

    public void Dispose() => _home.Dispose();
}
