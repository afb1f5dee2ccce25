namespace DeepDeploy.Tests.Chaos;

/// <summary>What a client saw for one HTTP attempt. <see cref="Timeout"/>, <see cref="Truncated"/> and
/// <see cref="Duplicated"/> are losses the suite fails on: the client got no signal, or an answer it cannot trust.</summary>
public enum AttemptOutcome
{
    /// <summary>200 with one whole answer (non-stream: one JSON completion; stream: chunks of one id, then [DONE]).</summary>
    Ok,

    /// <summary>An HTTP error status (or an error chunk in a stream) with the JSON error code.</summary>
    Error,

    /// <summary>Nobody listened (connection refused): nothing was sent, the client knows at once.</summary>
    Refused,

    /// <summary>The connection closed or reset before a status line: the client sees a transport error.</summary>
    Reset,

    /// <summary>200 headers, then the connection broke mid-answer: the client sees a transport error.</summary>
    Cut,

    /// <summary>No answer within the client's timeout.</summary>
    Timeout,

    /// <summary>A 200 whose body ended cleanly but incomplete (a stream without [DONE]): silent loss.</summary>
    Truncated,

    /// <summary>A 200 whose body holds more than one answer (two completion ids or two [DONE]).</summary>
    Duplicated,
}
