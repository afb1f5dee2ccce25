namespace DeepDeploy.Cli;

/// <summary>What deepctl's exit code means; scripts rely on these, docs/cli.md lists them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The API refused the request (a 4xx other than 401/403 forbidden/404): invalid field, name taken, limits.</summary>
    public const int ApiError = 1;

    /// <summary>Wrong command line or input file: nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>No token, a token the server does not know (401), or a call the token may not make (403 forbidden).</summary>
    public const int Auth = 3;

    /// <summary>No such deployment, user or model (404).</summary>
    public const int NotFound = 4;

    /// <summary>The server failed (5xx) or could not be reached.</summary>
    public const int Server = 5;

    /// <summary>A deployment that was waited for ended <c>failed</c> (or stopped) instead of <c>running</c>.</summary>
    public const int DeploymentFailed = 6;
}
