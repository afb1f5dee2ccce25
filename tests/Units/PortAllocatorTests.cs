using DeepDeploy.Node.Engines;

namespace DeepDeploy.Tests.Units;

[Trait("Category", "Unit")]
public sealed class PortAllocatorTests
{
    [Fact]
    public void Hands_out_ports_of_its_range_that_nobody_holds_or_listens_on()
    {
        var listening = new HashSet<int> { 21001 };
        var ports = new PortAllocator(21000, 21003, () => listening);

        Assert.Equal(21000, ports.Acquire());
        Assert.Equal(21002, ports.Acquire());
        Assert.Equal(21003, ports.Acquire());
        Assert.Throws<InvalidOperationException>(() => ports.Acquire());

        ports.Release(21002);
        Assert.Equal(21002, ports.Acquire());
    }

    [Fact]
    public void A_released_port_is_the_last_one_taken_again()
    {
        var ports = new PortAllocator(21000, 21002, () => new HashSet<int>());
        var first = ports.Acquire();
        ports.Release(first);

        Assert.Equal([21001, 21002, first], [ports.Acquire(), ports.Acquire(), ports.Acquire()]);
    }

    [Fact]
    public void Skips_a_port_a_real_listener_holds()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var taken = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var ports = new PortAllocator(taken, taken);

        Assert.Throws<InvalidOperationException>(() => ports.Acquire());
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(30, 20)]
    [InlineData(1, 70000)]
    public void Refuses_a_range_that_is_not_one(int first, int last) =>
        Assert.Throws<ArgumentException>(() => new PortAllocator(first, last));
}
