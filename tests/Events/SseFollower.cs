using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace DeepDeploy.Tests.Events;

/// <summary>A test's server-sent-events client: reads a follow response in the background into a list, until disposed
/// (which closes the connection, as a client that leaves).</summary>
public sealed class SseFollower : IAsyncDisposable
{
    readonly CancellationTokenSource _stop = new();
    readonly List<(string? Id, JsonElement Data)> _items = [];
    readonly HttpResponseMessage _response;
    readonly Task _reading;

    SseFollower(HttpResponseMessage response)
    {
        _response = response;
        _reading = ReadAsync();
    }

    public static async Task<SseFollower> StartAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new SseFollower(response);
    }

    public IReadOnlyList<(string? Id, JsonElement Data)> Items
    {
        get
        {
            lock (_items)
            {
                return [.. _items];
            }
        }
    }

    async Task ReadAsync()
    {
        try
        {
            var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(_stop.Token))
            {
                lock (_items)
                {
                    _items.Add((item.EventId, JsonDocument.Parse(item.Data).RootElement.Clone()));
                }
            }
        }
        catch (Exception e) when (_stop.IsCancellationRequested || e is IOException or HttpRequestException)
        {
            // Disposed, or the server went away: the follow ends.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reading;
    }
}
