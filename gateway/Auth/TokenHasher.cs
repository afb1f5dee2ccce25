using System.Runtime.InteropServices;
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

    public static bool FixedTimeEquals(string a, string b) => FixedTimeEquals(a.AsSpan(), b.AsSpan());

    /// <summary>Compares the characters without copying them (time depends on the length only).</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<char> a, ReadOnlySpan<char> b) =>
        CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(a), MemoryMarshal.AsBytes(b));

    static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
