using System.Diagnostics;
using System.Globalization;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Node.Engines;

/// <summary>Starts, stops and kills engine processes, the built-in worker and external engines alike: output into
/// the instance's tail, a PID file while it runs, and its endpoint once it listens.</summary>
public sealed class EngineLauncher(PidFiles pids, EngineUsers? users = null, EngineSandbox? sandbox = null, EngineLogPublisher? logs = null)
{
    /// <summary>How long the built-in worker may take to print its listening line.</summary>
    static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The PID files of the processes it started.</summary>
    public PidFiles Pids => pids;

    /// <summary>Engines run as users of their own (<see cref="EngineUsers"/>) with only their own files (<see cref="EngineSandbox"/>).</summary>
    [System.Runtime.Versioning.SupportedOSPlatformGuard("linux")]
    bool Isolated => OperatingSystem.IsLinux() && users is { Enabled: true } && sandbox is not null;

    /// <summary>Before each start: the path the engine loads its weights from, its own links to them when it runs
    /// as its own user, else the cache's path.</summary>
    public string PrepareWeights(string workingDirectory, string weightsPath) =>
        Isolated ? sandbox!.Prepare(workingDirectory, weightsPath) : weightsPath;

    /// <summary>At node start: the engines (and their users' processes) an earlier run left behind.</summary>
    public int KillOrphans() => pids.KillOrphans() + (Isolated ? users!.KillOrphans() : 0);

    /// <summary>Once the instance's process is gone: its user's last processes are killed and the uid is free.</summary>
    public void Release(EngineInstance instance)
    {
        if (instance.User is { } user && Isolated)
        {
            users!.Release(user);
            instance.User = null;
        }
    }

    /// <summary>Starts the process and returns its base URL: the known one, or the one the worker announces.</summary>
    public async Task<string> StartAsync(EngineInstance instance, EngineStart command)
    {
        var start = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = command.WorkingDirectory,
        };
        // Owner-only: no other OS user on the host reads what the engine writes there.
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(command.WorkingDirectory);
        }
        else
        {
            Directory.CreateDirectory(command.WorkingDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Directory.CreateDirectory(EngineEnvironment.TempDirectory(command.WorkingDirectory));
        var arguments = command.Arguments;
        if (Isolated)
        {
            // setpriv execs the engine in the same process (the pid stays the engine's) after dropping to its user.
            var user = instance.User ??= users!.Acquire();
            EngineSandbox.GiveTo(command.WorkingDirectory, user);
            start.FileName = users!.Options.Setpriv;
            arguments = [$"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--no-new-privs", "--", command.FileName, .. command.Arguments];
        }

        // Nothing inherited: the host's environment holds its secrets.
        start.Environment.Clear();
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in command.Environment)
        {
            start.Environment[key] = value;
        }

        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (command.Endpoint is { } known)
        {
            listening.SetResult(known);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            Emit(instance, e.Data);
            if (Protocol.Readiness.ParseListening(e.Data) is { } announced)
            {
                listening.TrySetResult(announced.GetLeftPart(UriPartial.Authority));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Emit(instance, e.Data);
            }
        };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            $"engine exited during start with code {SafeExitCode(process)}: {instance.Output.Last(5)}"));

        Emit(instance, $"[node] {instance.EngineName}: {start.FileName} {string.Join(' ', start.ArgumentList)}");
        process.Start();
        instance.Process = process;
        pids.Write(instance.Launch.InstanceId, process.Id);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (instance.Stopping)
        {
            throw new OperationCanceledException();
        }

        return await listening.Task.WaitAsync(ListenTimeout, instance.StopToken);
    }

    /// <summary>Asks the process to stop (SIGTERM) and kills it after <paramref name="grace"/>.</summary>
    public async Task StopAsync(EngineInstance instance, TimeSpan grace)
    {
        instance.RequestStop();
        var process = instance.Process;
        if (process is null || process.HasExited)
        {
            return;
        }

        ProcessSignals.Terminate(process.Id);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync(instance);
        }
    }

    public static async Task KillAsync(EngineInstance instance)
    {
        var process = instance.Process;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
    }

    static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    /// <summary>A line of the engine's output (or the node's about it) to the tail that /logs and failure reasons
    /// show and to live followers, masked the same way for both (secret, host paths).</summary>
    void Emit(EngineInstance instance, string line)
    {
        instance.Output.Add(logs?.Mask(instance, line) ?? line);
        logs?.Add(instance, line);
    }
}
