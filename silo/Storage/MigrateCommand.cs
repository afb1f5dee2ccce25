using DeepDeploy.Silo.Hosting;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// <c>dotnet DeepDeploy.Silo.dll migrate</c>: applies DeepDeploy's schema to the configured database and exits.
/// With <c>DEEPDEPLOY_DATABASE</c> set, the PostgreSQL scripts (deploy/sql/postgresql); otherwise the SQLite
/// scripts on the data directory's database file. Idempotent, like the start-up migration it replaces when
/// <c>DeepDeploy__MigrateOnStart=false</c>.
/// </summary>
public static class MigrateCommand
{
    public const string Name = "migrate";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var configuration = Host.CreateApplicationBuilder(args).Configuration;
        var options = DeepDeployOptions.Read(configuration);
        try
        {
            if (options.IsProduction)
            {
                var applied = await PostgresSchema.EnsureCreatedAsync(options.Database!, options.DatabaseWait);
                output.WriteLine($"PostgreSQL schema applied: {string.Join(", ", applied)}");
            }
            else
            {
                SqliteSchema.EnsureCreated($"Data Source={options.DatabasePath}");
                output.WriteLine($"SQLite schema applied to {options.DatabasePath}: {string.Join(", ", SqliteSchema.ScriptNames)}");
            }

            return 0;
        }
        catch (Exception e)
        {
            error.WriteLine($"migrate failed: {e.Message}");
            return 1;
        }
    }
}
