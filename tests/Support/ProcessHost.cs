using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DeepDeploy.Tests.Support;

/// <summary>
/// The one way tests run a real OS process (a worker, a silo, a production-mode role, nginx): start it with
/// arguments, environment and working directory, keep its output, wait for a line or a condition (failing at once,
/// with the output, if the process exits first), stop it gracefully or kill it, and kill it with its children on
/// dispose.
/// </summary>
public sealed class ProcessHost : IDisposable, IAsyncDisposable
{
    const int SigTerm = 15;
    static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(30);

    readonly Process _process;
    readonly Task _exited;

    ProcessHost(string name, Process process, ProcessOutput output)
    {
        Name = name;
        _process = process;
        Output = output;
        // Completes once the process has exited and both redirected streams are read to their end.
        _exited = process.WaitForExitAsync();
    }

    public string Name { get; }

    public ProcessOutput Output { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The process's stdin, when started with <c>input: true</c>.</summary>
    public StreamWriter Input => _process.StandardInput;

    /// <summary>The dotnet host running this test (so child processes use the same runtime), else "dotnet" from PATH.</summary>
    public static string DotnetHost
    {
        get
        {
            var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
            {
                return fromSdk;
            }

            var self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    /// <summary>Starts <c>dotnet &lt;dll&gt; args...</c> for a dll copied to the test's bin directory, in that directory.</summary>
    public static ProcessHost StartDotnet(string name, string dll, IEnumerable<string> arguments,
        IEnumerable<KeyValuePair<string, string>>? environment = null, ProcessOutput? output = null) =>
        Start(name, DotnetHost, [Path.Combine(AppContext.BaseDirectory, dll), .. arguments], environment,
            AppContext.BaseDirectory, output);

    /// <param name="output">Where to keep the output; a new one when null.</param>
    /// <param name="input">Give the process a stdin pipe (<see cref="Input"/>) instead of the test's own stdin.</param>
    public static ProcessHost Start(string name, string fileName, IEnumerable<string> arguments,
        IEnumerable<KeyValuePair<string, string>>? environment = null, string? workingDirectory = null, ProcessOutput? output = null,
        bool input = false)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = input,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        output ??= new ProcessOutput();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Keep(output, e.Data, error: false);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data, error: true);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {name} ({fileName})");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ProcessHost(name, process, output);
    }

    /// <summary>Waits until <paramref name="probe"/> returns a value <paramref name="done"/> accepts (see
    /// <see cref="Eventually"/>), and returns it; throws with the process's output if it exits first.</summary>
    public async Task<T> WaitForAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var exited = false;
        T value;
        try
        {
            value = await Eventually.MatchAsync(
                async () => (exited = HasExited) ? default! : await probe(),
                v => exited || done(v),
                timeout,
                $"{Name}: {what}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{Name} output:\n{Output.Tail()}", e);
        }

        if (exited)
        {
            await DrainAsync();
            throw new InvalidOperationException(
                $"{Name} exited (code {ExitCode}) before {what}; its output:\n{Output.Tail()}");
        }

        return value;
    }

    /// <summary>Waits until <paramref name="condition"/> holds; throws with the output if the process exits first.</summary>
    public Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        WaitForAsync(condition, done => done, timeout, what);

    /// <summary>Waits for the first output line <paramref name="match"/> accepts, and returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        try
        {
            return (await WaitForAsync(() => Task.FromResult(Output.Find(match)), line => line is not null, timeout, what))!;
        }
        catch (InvalidOperationException) when (Output.Find(match) is { } line)
        {
            return line; // printed just before exiting: the line was read only while the output drained
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, the graceful stop an orchestrator does.</summary>
    public void Terminate()
    {
        if (SysKill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) of {Name} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>SIGTERM, then waits for the exit; kills the process tree if it has not exited within
    /// <paramref name="timeout"/>. True when it stopped by itself.</summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (HasExited)
        {
            return true;
        }

        Terminate();
        if (await WaitForExitAsync(timeout))
        {
            return true;
        }

        await KillAsync(entireProcessTree: true);
        return false;
    }

    /// <summary>SIGKILL and wait for the exit. Without the tree, no shutdown code runs and children are orphaned.</summary>
    public async Task KillAsync(bool entireProcessTree)
    {
        SigKill(entireProcessTree);
        await WaitForExitAsync(ExitWait);
    }

    /// <summary>Synchronous <see cref="KillAsync"/>, for callers that are not async.</summary>
    public void Kill(bool entireProcessTree)
    {
        SigKill(entireProcessTree);
        _process.WaitForExit(ExitWait);
    }

    public void Dispose()
    {
        Kill(entireProcessTree: true);
        _process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync(entireProcessTree: true);
        _process.Dispose();
    }

    /// <summary>Lets the last output lines arrive after an exit, so a failure message has them.</summary>
    async Task DrainAsync()
    {
        try
        {
            await _exited.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // a child still holds the pipes: report what arrived
        }
    }

    void SigKill(bool entireProcessTree)
    {
        try
        {
            _process.Kill(entireProcessTree);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }

    static void Keep(ProcessOutput output, string? line, bool error)
    {
        if (line is not null)
        {
            output.Add(line, error);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int SysKill(int pid, int signal);
}
