using DeepDeploy.Tests.Production;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Faults;

/// <summary>
/// A PostgreSQL server of one test's own (<c>deploy/postgres/throwaway.sh</c>), so that stopping it disturbs no
/// other test: <see cref="PauseAsync"/> is the outage (the server stops at once, keeping its data),
/// <see cref="ResumeAsync"/> brings it back on the same port.
/// </summary>
public sealed class OwnPostgres : IAsyncDisposable
{
    readonly string _dir;

    OwnPostgres(string dir, string connectionString)
    {
        _dir = dir;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<OwnPostgres> StartAsync()
    {
        // Only when PostgreSQL tests run at all: the shared server proves the package is there.
        PostgresFactAttribute.Require();
        var dir = Path.Combine(Path.GetTempPath(), "deepdeploy-pg-" + Guid.NewGuid().ToString("N")[..8]);
        var output = await RunAsync("start", dir);
        return new OwnPostgres(dir, output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim());
    }

    public Task PauseAsync() => RunAsync("pause", _dir);

    public Task ResumeAsync() => RunAsync("resume", _dir);

    public async ValueTask DisposeAsync() => await RunAsync("stop", _dir);

    static async Task<string> RunAsync(string action, string dir)
    {
        var script = Path.Combine(RepoRoot(), "deploy", "postgres", "throwaway.sh");
        await using var process = ProcessHost.Start("throwaway-postgres-" + action, "bash", [script, action, dir]);
        if (!await process.WaitForExitAsync(TimeSpan.FromSeconds(90)) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"throwaway.sh {action} failed: {process.Output.Tail()}");
        }

        return process.Output.Stdout;
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.DeepDeploy.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
