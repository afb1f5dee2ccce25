using System.Globalization;
using System.Net.Http.Json;
using DeepDeploy.Tests.Support;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Gateway;

/// <summary>
/// The all-in-one product as shipped, for the gateway benchmark: <c>dotnet DeepDeploy.Silo.dll --urls ...</c> from
/// the test's bin (the Release build when the tests are built in Release) as a process of its own, with its own
/// appsettings.json (log levels), server GC and runtime settings, and fake-engine workers (a test double: no GPU
/// here). Nothing of the test runner (its GC mode, console relay, threads) sits in the measured process. The
/// workers are found from outside, as an operator would: their pid files, and from /proc their listening port and
/// the instance secret on their command line (Linux only, as are wrk and nginx).
/// </summary>
public sealed class ShippedSilo : IAsyncDisposable
{
    readonly ProcessHost _host;
    readonly TempDirectory _data;

    ShippedSilo(ProcessHost host, TempDirectory data, Uri baseAddress)
    {
        _host = host;
        _data = data;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Pid => _host.Pid;

    /// <summary>What the silo logged last (its console, at the levels of its own appsettings.json).</summary>
    public string LogTail(int lines) => _host.Output.Tail(lines);

    string NodesDirectory => Path.Combine(_data.Path, "nodes");

    /// <param name="knobs">Runtime knobs (<see cref="RuntimeKnob"/>); the DOTNET_* ones reach the silo's workers too,
    /// as the node passes them on.</param>
    public static async Task<ShippedSilo> StartAsync(double tokenRate, string workerArgs, IReadOnlyDictionary<string, string>? knobs = null)
    {
        var data = TempDirectory.Create("deepdeploy-bench-");
        var baseAddress = new Uri($"http://127.0.0.1:{Ports.Free()}");
        var environment = new Dictionary<string, string>
        {
            ["DEEPDEPLOY_DATA_DIR"] = data.Path,
            ["DEEPDEPLOY_ADMIN_TOKEN"] = SystemHttp.AdminToken,
            ["DeepDeploy__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["DeepDeploy__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["DeepDeploy__Node__Name"] = "bench-node",
            ["DeepDeploy__Node__Directory"] = Path.Combine(data.Path, "nodes"),
            ["DeepDeploy__Node__WorkerArgs"] = $"--engine fake --fake-token-rate {tokenRate.ToString(CultureInfo.InvariantCulture)} {workerArgs}",
        };
        foreach (var (name, value) in knobs ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        var host = ProcessHost.StartDotnet("silo", "DeepDeploy.Silo.dll", ["--urls", baseAddress.ToString()], environment);
        try
        {
            await SystemHttp.WaitHealthyAsync(host, baseAddress, TimeSpan.FromSeconds(90));
            return new ShippedSilo(host, data, baseAddress);
        }
        catch
        {
            await host.DisposeAsync();
            data.Dispose();
            throw;
        }
    }

    public HttpClient Client(string? token) => SystemHttp.Client(BaseAddress, token, TimeSpan.FromMinutes(2));

    public async Task<string> CreateUserAsync(string name)
    {
        using var admin = Client(SystemHttp.AdminToken);
        return await SystemHttp.CreateUserAsync(admin, name);
    }

    /// <summary>Each running worker: its endpoint and its instance secret.</summary>
    public (string Endpoint, string Secret)[] Workers() =>
        EnginePids.Files(_data.Path).Select(f => int.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture))
            .Select(pid => ($"http://127.0.0.1:{ListeningPort(pid)}", Argument(pid, Protocol.Args.ApiKey)))
            .ToArray();

    /// <summary>Waits until every one of <paramref name="count"/> workers answered a request sent through the
    /// gateway: the gateway's routes list them all.</summary>
    public async Task WaitRoutedAsync(HttpClient client, string model, int count)
    {
        var workers = await Eventually.ValueAsync(() => Task.FromResult(Workers() is { } w && w.Length == count ? w : null),
            TimeSpan.FromSeconds(30), $"{count} workers listening");
        await Eventually.TrueAsync(async () =>
        {
            // Several at once: least-loaded routing spreads them.
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                using var response = await client.PostAsJsonAsync("/v1/openai/chat/completions", GatewaySystem.Chat(model, 1));
            }));
            foreach (var (endpoint, _) in workers)
            {
                if (await GatewaySystem.MetricAsync(endpoint, Protocol.Metrics.GeneratedTokens) == 0)
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(30), $"the gateway routes {model} to all {count} workers");
    }

    /// <summary>The TCP port <paramref name="pid"/> listens on (IPv4 loopback, as the node binds its workers).</summary>
    static int ListeningPort(int pid)
    {
        var sockets = Directory.GetFiles($"/proc/{pid}/fd")
            .Select(fd => new FileInfo(fd).LinkTarget ?? "")
            .Where(link => link.StartsWith("socket:[", StringComparison.Ordinal))
            .Select(link => link["socket:[".Length..^1])
            .ToHashSet();
        // /proc/net/tcp: "sl local_address rem_address st ... inode"; st 0A is LISTEN, the port is hex after ':'.
        foreach (var line in File.ReadLines($"/proc/{pid}/net/tcp").Skip(1))
        {
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns[3] == "0A" && sockets.Contains(columns[9]))
            {
                return int.Parse(columns[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"worker {pid} listens on no IPv4 port");
    }

    static string Argument(int pid, string name)
    {
        var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
        var at = Array.IndexOf(arguments, name);
        return at >= 0 && at + 1 < arguments.Length ? arguments[at + 1] : throw new InvalidOperationException($"worker {pid} has no {name}");
    }

    public async ValueTask DisposeAsync()
    {
        // SIGTERM: the node stops its workers on the way out.
        await _host.StopAsync(TimeSpan.FromSeconds(30));
        await _host.DisposeAsync();
        _data.Dispose();
    }
}
