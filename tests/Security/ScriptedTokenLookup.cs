using DeepDeploy.Gateway.Auth;

namespace DeepDeploy.Tests.Security;

/// <summary>TEST DOUBLE for the user directory grain behind <see cref="ITokenLookup"/>: answers from a table, or throws
/// as a call to a directory whose silo just died does, or holds the answer until released. The cache's own rules are
/// the subject of the tests that use it; the real directory is exercised by every system test.</summary>
public sealed class ScriptedTokenLookup : ITokenLookup
{
    public Dictionary<string, string> Users { get; } = [];

    public bool Unreachable { get; set; }

    /// <summary>When set, answers wait for it.</summary>
    public TaskCompletionSource? Gate { get; set; }

    int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public async Task<string?> FindUserAsync(string tokenHash)
    {
        Interlocked.Increment(ref _calls);
        if (Gate is { } gate)
        {
            await gate.Task;
        }

        if (Unreachable)
        {
            throw new TimeoutException("the user directory did not answer (scripted)");
        }

        return Users.GetValueOrDefault(tokenHash);
    }

    public void Add(string token, string user) => Users[TokenHasher.Hash(token)] = user;
}
