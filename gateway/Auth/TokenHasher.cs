using System.Security.Cryptography;
using System.Text;

namespace DeepDeploy.Gateway.Auth;

/// <summary>API tokens are random 256-bit secrets, so a plain SHA-256 is enough to store them: nothing
/// to brute-force, and a lookup stays one hash.</summary>
public static class TokenHasher
{
    public static string NewToken(string prefix) =>
        prefix + Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
