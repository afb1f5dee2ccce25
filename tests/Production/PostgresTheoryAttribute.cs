namespace DeepDeploy.Tests.Production;

/// <summary>A theory with the same PostgreSQL rule as <see cref="PostgresFactAttribute"/>.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        Skip = new PostgresFactAttribute().Skip;
    }
}
