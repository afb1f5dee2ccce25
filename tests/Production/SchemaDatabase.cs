using DeepDeploy.Silo.Storage;

namespace DeepDeploy.Tests.Production;

/// <summary>A test's own PostgreSQL database with our schema: created by <see cref="CreateAsync"/> (a contract's
/// InitializeAsync), dropped by <see cref="DropAsync"/>.</summary>
public sealed class SchemaDatabase
{
    TestDatabase? _database;

    public TestDatabase Database => _database ?? throw new InvalidOperationException("no database yet");

    public async Task CreateAsync()
    {
        _database = await TestDatabase.CreateAsync();
        await PostgresSchema.EnsureCreatedAsync(_database.ConnectionString);
    }

    public async Task DropAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
