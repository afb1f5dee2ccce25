using DeepDeploy.Silo.Hosting;

namespace DeepDeploy.Tests.Production;

[Trait("Category", "Unit")]
public sealed class HostRolesTests
{
    [Theory]
    [InlineData(null, HostRoles.All)]
    [InlineData("all", HostRoles.All)]
    [InlineData("silo", HostRoles.Silo)]
    [InlineData("control", HostRoles.Silo)]
    [InlineData("node", HostRoles.Silo | HostRoles.Node)]
    [InlineData("gateway", HostRoles.Gateway)]
    [InlineData("Silo, Gateway", HostRoles.Silo | HostRoles.Gateway)]
    [InlineData("node,gateway", HostRoles.Silo | HostRoles.Node | HostRoles.Gateway)]
    public void Roles_parse(string? text, HostRoles expected)
    {
        Assert.Equal(expected, HostRolesParser.Parse(text));
    }

    [Fact]
    public void Only_the_full_set_is_the_all_in_one()
    {
        Assert.True(HostRolesParser.Parse("all").IsAllInOne());
        Assert.False(HostRolesParser.Parse("node,gateway").IsAllInOne()); // no local hub
        Assert.Equal("silo,node", HostRolesParser.Parse("node").Describe());
    }

    [Theory]
    [InlineData("--role", "silo", "HF_ENDPOINT is not set")]
    [InlineData("--role", "node", "HF_ENDPOINT is not set")]
    [InlineData("--role", "gateway", "DEEPDEPLOY_ADMIN_TOKEN is not set")]
    [InlineData("--role", "worker", "unknown role 'worker'")]
    public void A_split_process_without_its_required_settings_refuses_to_start_and_says_which(string flag, string role, string message)
    {
        var error = Assert.Throws<ConfigurationException>(() => DeepDeployHost.Build([flag, role], builder =>
        {
            // Whatever the machine's environment says: nothing configured.
            builder.Configuration["HF_ENDPOINT"] = "";
            builder.Configuration["DEEPDEPLOY_ADMIN_TOKEN"] = "";
            builder.Configuration["DEEPDEPLOY_DATABASE"] = "";
            builder.Configuration["DEEPDEPLOY_DATA_DIR"] = Path.Combine(Path.GetTempPath(), "deepdeploy-never-created");
        }));
        Assert.Contains(message, error.Message);
    }
}
