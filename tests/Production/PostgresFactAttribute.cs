namespace DeepDeploy.Tests.Production;

/// <summary>
/// A fact that needs a PostgreSQL server: <c>DEEPDEPLOY_TEST_POSTGRES</c> holds a connection string of a role
/// that may create databases (.ci/run starts one; locally, <c>deploy/postgres/throwaway.sh start DIR</c>).
/// Unset, the test is skipped with that reason, except in CI (CI=true) where it runs and fails: production
/// mode must never go untested there.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public const string Variable = "DEEPDEPLOY_TEST_POSTGRES";

    public PostgresFactAttribute()
    {
        if (ConnectionString is null && !IsCi)
        {
            Skip = $"PostgreSQL: set {Variable} (e.g. from deploy/postgres/throwaway.sh start DIR) to run; CI fails instead of skipping";
        }
    }

    public static string? ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;

    static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The server's connection string, or a failure that says why there is none.</summary>
    public static string Require() => ConnectionString
        ?? throw new InvalidOperationException(
            $"{Variable} is not set: PostgreSQL did not start (.ci/run starts a throwaway server and exports it). "
            + "In CI the PostgreSQL tests fail rather than skip.");
}
