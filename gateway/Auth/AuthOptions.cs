namespace DeepDeploy.Gateway.Auth;

/// <summary>Token cache and failed-authentication throttling (configuration section <c>DeepDeploy:Auth</c>,
/// e.g. <c>DeepDeploy__Auth__FailureLimit=50</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "DeepDeploy:Auth";

    /// <summary>How long a gateway trusts a known token without asking the directory: the bound on how late a
    /// revocation is seen (the API promises 5 s).</summary>
    public TimeSpan TokenCacheTime { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>How long past <see cref="TokenCacheTime"/> a known token is still served while the directory cannot
    /// be asked (its silo just died, a call timed out); a background look-up re-validates it meanwhile. The bound on
    /// how late a revocation made during such an outage is seen. Zero: every request waits for the look-up.</summary>
    public TimeSpan StaleTokenGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long an unknown token is answered 401 without asking the directory again.</summary>
    public TimeSpan UnknownTokenCacheTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tokens (known and unknown) a gateway remembers; beyond it the cache starts over.</summary>
    public int MaxCachedTokens { get; set; } = 100_000;

    /// <summary>Failed authentications one source may make per <see cref="FailureWindow"/>; then 429 until the window ends.</summary>
    public int FailureLimit { get; set; } = 30;

    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Sources whose failures are counted at once; beyond it the counts start over.</summary>
    public int MaxTrackedSources { get; set; } = 100_000;
}
