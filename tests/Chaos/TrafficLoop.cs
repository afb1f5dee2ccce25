using System.Collections.Concurrent;
using System.Globalization;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// Steady client traffic: <c>streams</c> + <c>plain</c> concurrent loops, each sending one logical request after
/// the other (streaming or not). A logical request that fails is retried by the client, as a careful client
/// would: for up to <see cref="RetryBudget"/>, pausing 1 s after an error answer (the gateway's Retry-After) and 250 ms
/// after a transport error. A time budget rather than a count of tries: a restarting gateway refuses connections at
/// once, so a count would run out long before the gateway is back.
/// Every attempt is recorded (<see cref="Attempts"/>).
/// </summary>
public sealed class TrafficLoop : IAsyncDisposable
{
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(60);

    readonly HttpClient _client;
    readonly string _token;
    readonly string _model;
    readonly int _maxTokens;
    readonly TimeSpan _timeout;
    readonly CancellationTokenSource _stop = new();
    readonly List<Task> _loops = [];
    long _nextId;

    public TrafficLoop(Uri gateway, string token, string model, int streams, int plain, int maxTokens, TimeSpan timeout)
    {
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = gateway,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _token = token;
        _model = model;
        _maxTokens = maxTokens;
        _timeout = timeout;
        for (var i = 0; i < streams + plain; i++)
        {
            var stream = i < streams;
            _loops.Add(Task.Run(() => LoopAsync(stream)));
        }
    }

    public ConcurrentQueue<Attempt> Attempts { get; } = new();

    /// <summary>Logical requests started so far.</summary>
    public long Started => Interlocked.Read(ref _nextId);

    /// <summary>Logical requests that got no whole answer within <see cref="RetryBudget"/>.</summary>
    public ConcurrentQueue<long> GaveUp { get; } = new();

    async Task LoopAsync(bool stream)
    {
        while (!_stop.IsCancellationRequested)
        {
            var id = Interlocked.Increment(ref _nextId);
            var deadline = DateTime.UtcNow + RetryBudget;
            for (var attempt = 0; ; attempt++)
            {
                var result = await InferenceCall.SendAsync(_client, _token, _model, id, attempt, stream, _maxTokens, _timeout);
                Attempts.Enqueue(result);
                if (result.Outcome == AttemptOutcome.Ok)
                {
                    break;
                }

                if (DateTime.UtcNow >= deadline)
                {
                    GaveUp.Enqueue(id);
                    break;
                }

                try
                {
                    await Task.Delay(result.Outcome == AttemptOutcome.Error ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(250), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return; // stopping: the request's last attempt is recorded
                }
            }
        }
    }

    /// <summary>Stops sending new requests and waits for those in flight.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _client.Dispose();
        _stop.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Started} requests, {Attempts.Count} attempts");
}
