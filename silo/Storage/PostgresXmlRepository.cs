using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace DeepDeploy.Silo.Storage;

/// <summary>
/// The Data Protection key ring in PostgreSQL (table <c>DeepDeployDataProtectionKeys</c>, created by
/// <c>deploy/sql/postgresql/dataprotection.sql</c>), so that every gateway, silo and GPU node of a cluster
/// protects and unprotects secrets (Hugging Face tokens) with the same keys.
/// </summary>
public sealed class PostgresXmlRepository(string connectionString) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand("SELECT Xml FROM DeepDeployDataProtectionKeys ORDER BY CreatedOn, FriendlyName;", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        // Keys are immutable: a second store under the same name (a retry) keeps the first.
        using var command = new NpgsqlCommand(
            "INSERT INTO DeepDeployDataProtectionKeys (FriendlyName, Xml) VALUES (@name, @xml) ON CONFLICT (FriendlyName) DO NOTHING;",
            connection);
        command.Parameters.AddWithValue("name", friendlyName);
        command.Parameters.AddWithValue("xml", element.ToString(SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }
}
