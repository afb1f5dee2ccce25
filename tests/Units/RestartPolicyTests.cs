using DeepDeploy.Node;
using DeepDeploy.Node.Engines;

namespace DeepDeploy.Tests.Units;

[Trait("Category", "Unit")]
public sealed class RestartPolicyTests
{
    readonly RestartPolicy _policy = new(new NodeOptions
    {
        MaxRestarts = 3,
        RestartBackoff = TimeSpan.FromSeconds(1),
        MaxRestartBackoff = TimeSpan.FromSeconds(5),
        HealthyRunResetsRestarts = TimeSpan.FromMinutes(10),
    });

    [Fact]
    public void Backoff_doubles_up_to_the_cap()
    {
        Assert.Equal(
            [1, 2, 4, 5, 5],
            Enumerable.Range(0, 5).Select(r => _policy.Backoff(r).TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(5), _policy.Backoff(200));
    }

    [Fact]
    public void Gives_up_after_max_restarts_unless_a_long_healthy_run_reset_the_count()
    {
        Assert.False(_policy.GivesUp(_policy.Count(2, TimeSpan.FromSeconds(1))));
        Assert.True(_policy.GivesUp(_policy.Count(3, TimeSpan.FromSeconds(1))));
        Assert.False(_policy.GivesUp(_policy.Count(3, TimeSpan.FromMinutes(11))));
    }
}
