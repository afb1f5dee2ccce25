namespace DeepDeploy.Gateway.Inference;

public enum AdmissionOutcome
{
    /// <summary>A slot on an instance is leased to the request.</summary>
    Granted,

    /// <summary>The deployment's ceiling of concurrent requests is reached: 429 "Rate limited".</summary>
    RateLimited,

    /// <summary>Every slot is taken and the queue is full: 429.</summary>
    QueueFull,

    /// <summary>Waited in the queue past its deadline: 503.</summary>
    QueueTimeout,

    /// <summary>Held for a cold start past its deadline: 503.</summary>
    ColdStartTimeout,

    /// <summary>The deployment is failed, stopped or deleted: 503.</summary>
    Unavailable,

    /// <summary>The client went away while waiting.</summary>
    Cancelled,
}
