namespace DeepDeploy.Tests.Cli;

/// <summary>How one deepctl run ended: its exit code and what it wrote.</summary>
public sealed record DeepctlRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
