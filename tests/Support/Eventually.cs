namespace DeepDeploy.Tests.Support;

/// <summary>
/// The one way tests wait for something to become true: poll until it holds or a deadline passes, then fail with
/// a message that says what was awaited and what was last seen. It waits for an event, never for a fixed time; a
/// test that must show something did not happen uses a fake clock or an event instead.
/// </summary>
public static class Eventually
{
    static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until <paramref name="condition"/> is true.</summary>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string? what = null) =>
        MatchAsync(() => Task.FromResult(condition()), done => done, timeout, what);

    /// <summary>Waits until <paramref name="condition"/> is true; an exception it throws counts as "not yet".</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string? what = null) =>
        MatchAsync(condition, done => done, timeout, what);

    /// <summary>Waits until <paramref name="probe"/> returns a value for which <paramref name="done"/> holds, and
    /// returns it. An exception the probe throws counts as "not yet" and is reported on timeout.</summary>
    public static async Task<T> MatchAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string? what = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = "nothing";
        Exception? error = null;
        while (true)
        {
            try
            {
                var value = await probe();
                if (done(value))
                {
                    return value;
                }

                seen = value?.ToString() ?? "null";
                error = null;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                error = e;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"not {what ?? "true"} within {timeout}; last seen: {seen}"
                    + (error is null ? "" : $"; last error: {error.GetType().Name}: {error.Message}"), error);
            }

            // The poll's own pace: what is awaited has no event of its own to wake this loop.
            await Task.Delay(Interval);
        }
    }

    /// <summary>Waits until <paramref name="probe"/> returns non-null, and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string? what = null)
        where T : class =>
        (await MatchAsync(probe, value => value is not null, timeout, what))!;
}
