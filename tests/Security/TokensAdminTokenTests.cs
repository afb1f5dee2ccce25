using DeepDeploy.Silo.Hosting;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Security;

[Trait("Category", "Unit")]
public sealed class TokensAdminTokenTests
{
    [Fact]
    public void A_short_configured_operator_token_refuses_to_start_and_says_the_minimum()
    {
        using var dir = TempDirectory.Create("deepdeploy-short-token-");
        var error = Assert.Throws<ConfigurationException>(() => DeepDeployHost.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration["DEEPDEPLOY_ADMIN_TOKEN"] = "short-token";
            builder.Configuration["DEEPDEPLOY_DATABASE"] = "";
            builder.Configuration["DEEPDEPLOY_DATA_DIR"] = dir.Path;
        }));
        Assert.Contains("DEEPDEPLOY_ADMIN_TOKEN is 11 characters long; it must be at least 32", error.Message);
    }

    [Fact]
    public void A_short_saved_operator_token_is_refused_too_and_a_long_one_is_kept()
    {
        using var dir = TempDirectory.Create("deepdeploy-admin-token-");
        File.WriteAllText(Path.Combine(dir.Path, "admin-token"), "abc\n");
        var error = Assert.Throws<ConfigurationException>(() => AdminTokenStore.LoadOrCreate(dir.Path, null, TextWriter.Null));
        Assert.Contains("at least 32", error.Message);

        var configured = new string('x', AdminTokenStore.MinLength);
        Assert.Equal(configured, AdminTokenStore.LoadOrCreate(dir.Path, $" {configured} ", TextWriter.Null));
    }

    [Fact]
    public void A_generated_operator_token_is_long_enough()
    {
        using var dir = TempDirectory.Create("deepdeploy-admin-token-");
        var token = AdminTokenStore.LoadOrCreate(dir.Path, null, TextWriter.Null);
        Assert.True(token.Length >= AdminTokenStore.MinLength);
        Assert.Equal(token, AdminTokenStore.LoadOrCreate(dir.Path, null, TextWriter.Null));
    }
}
