using System.Collections.Concurrent;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Keeps the in-memory maps fed by untrusted input (tokens, source addresses) bounded: when one is full,
/// its expired entries go, and if it is still full it starts over, so a flood of distinct keys never grows it.</summary>
public static class BoundedMap
{
    public static void MakeRoom<TKey, TValue>(ConcurrentDictionary<TKey, TValue> map, int max, Func<TValue, bool> expired)
        where TKey : notnull
    {
        if (map.Count < max)
        {
            return;
        }

        foreach (var (key, value) in map)
        {
            if (expired(value))
            {
                map.TryRemove(key, out _);
            }
        }

        if (map.Count >= max)
        {
            map.Clear();
        }
    }
}
