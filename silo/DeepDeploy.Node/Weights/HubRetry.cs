using Polly;
using Polly.Retry;

namespace DeepDeploy.Node.Weights;

/// <summary>
/// Retries a hub call that failed with <see cref="HubErrorKind.Network"/> with exponential backoff (Polly); any other
/// failure, and a cancellation, ends the call at once. The last failure's message says how many attempts were made.
/// </summary>
internal sealed class HubRetry(int maxAttempts, TimeSpan delay, TimeSpan maxDelay, Action<int, HubException>? onRetry)
{
    readonly ResiliencePipeline _pipeline = maxAttempts <= 1
        ? ResiliencePipeline.Empty
        : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Exception is HubException { Kind: HubErrorKind.Network } && !args.Context.CancellationToken.IsCancellationRequested),
            MaxRetryAttempts = maxAttempts - 1,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = false,
            Delay = delay,
            MaxDelay = maxDelay,
            OnRetry = args =>
            {
                onRetry?.Invoke(args.AttemptNumber + 1, (HubException)args.Outcome.Exception!);
                return ValueTask.CompletedTask;
            },
        }).Build();

    public async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        var attempts = 0;
        try
        {
            return await _pipeline.ExecuteAsync(async _ =>
            {
                attempts++;
                return await call().ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.Network && attempts > 1 && !ct.IsCancellationRequested)
        {
            throw new HubException(e.Kind, e.Repo, e.Endpoint, $"{e.Message} (gave up after {attempts} attempts)", e.StatusCode, e);
        }
    }
}
