using Xunit;

namespace DeepDeploy.Tests.Worker;

/// <summary>A fact that only runs when the environment variable DEEPDEPLOY_BENCH is "1".</summary>
public sealed class BenchmarkFactAttribute : FactAttribute
{
    public const string Variable = "DEEPDEPLOY_BENCH";

    public BenchmarkFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"benchmark: set {Variable}=1 to run";
        }
    }
}
