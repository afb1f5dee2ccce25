namespace DeepDeploy.Gateway.Auth;

/// <summary>Who a token hash belongs to, asked of the cluster; null when no user holds it. Throws when the cluster
/// cannot answer (a silo just died, a call timed out).</summary>
public interface ITokenLookup
{
    Task<string?> FindUserAsync(string tokenHash);
}
