using DeepDeploy.Cli.Api;

namespace DeepDeploy.Cli.Config;

/// <summary>Which server to call and with which token: <c>--host</c>, then <c>DEEPDEPLOY_HOST</c>, then the config file;
/// <c>DEEPDEPLOY_TOKEN</c>, then the config file's token — the latter only for the host it was saved for, so a token
/// is never sent to another server by a <c>--host</c> or <c>DEEPDEPLOY_HOST</c> that points elsewhere.</summary>
public sealed record Connection(Uri Host, string? Token)
{
    public const string DefaultHost = "http://127.0.0.1:5080";

    public static Uri ParseHost(string value)
    {
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ApiException(ExitCodes.Usage, $"host '{value}' is not an http:// or https:// URL without query or credentials");
        }

        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    public static Connection Resolve(string? hostOption)
    {
        var config = CliConfig.Load();
        var configHost = config.Host is null ? null : ParseHost(config.Host);
        var chosen = hostOption is not null ? ParseHost(hostOption)
            : Environment.GetEnvironmentVariable("DEEPDEPLOY_HOST") is { Length: > 0 } fromEnv ? ParseHost(fromEnv)
            : configHost ?? ParseHost(DefaultHost);
        var token = Environment.GetEnvironmentVariable("DEEPDEPLOY_TOKEN") is { Length: > 0 } envToken ? envToken
            : configHost is not null && configHost == chosen ? config.Token
            : null;
        return new Connection(chosen, token);
    }

    public string RequireToken() => Token ?? throw new ApiException(ExitCodes.Auth,
        $"not signed in to {Host}: run `deepctl auth login` or set DEEPDEPLOY_TOKEN");
}
