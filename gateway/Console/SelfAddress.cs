using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace DeepDeploy.Gateway.WebConsole;

/// <summary>This gateway's own API on loopback, read from the server's bound addresses (never from the request's
/// Host header): the console calls the public API there, as any client would.</summary>
public sealed class SelfAddress(IServer server)
{
    Uri? _address;

    public Uri Address => _address ??= Resolve(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);

    static Uri Resolve(ICollection<string> addresses)
    {
        // Plain HTTP first: a loopback call needs no certificate check.
        var chosen = addresses.OrderBy(a => a.StartsWith("https:", StringComparison.OrdinalIgnoreCase)).FirstOrDefault()
            ?? throw new InvalidOperationException("The gateway listens on no address yet.");
        var uri = new UriBuilder(chosen.Replace("://+", "://localhost").Replace("://*", "://localhost"));
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = uri.Host == "0.0.0.0" ? "127.0.0.1" : "[::1]";
        }

        uri.Path = "/";
        return uri.Uri;
    }
}
