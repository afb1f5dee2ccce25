using System.Threading.Channels;
using DeepDeploy.Contracts.Events;
using Orleans.Streams;

namespace DeepDeploy.Gateway.Events;

/// <summary>
/// One HTTP client's subscription to an Orleans stream, for as long as the request lasts: items go into a bounded
/// channel (the oldest dropped when the client reads too slowly; event followers fill such gaps from the history)
/// and the subscription is removed on dispose, so a follower that left costs nothing.
/// </summary>
public sealed class StreamFollower<T> : IAsyncDisposable
{
    const int Capacity = 1000;

    readonly Channel<T> _items = Channel.CreateBounded<T>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    StreamSubscriptionHandle<T>? _subscription;

    StreamFollower()
    {
    }

    public static async Task<StreamFollower<T>> StartAsync(IClusterClient client, StreamId stream)
    {
        var follower = new StreamFollower<T>();
        follower._subscription = await client.GetStreamProvider(EventStreams.Provider).GetStream<T>(stream).SubscribeAsync((item, _) =>
        {
            follower._items.Writer.TryWrite(item);
            return Task.CompletedTask;
        });
        return follower;
    }

    public IAsyncEnumerable<T> ReadAllAsync(CancellationToken cancellationToken) => _items.Reader.ReadAllAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _items.Writer.TryComplete();
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync();
        }
    }
}
