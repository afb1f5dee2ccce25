namespace DeepDeploy.Node.Weights;

/// <summary>A failure talking to a Hugging Face-style hub; the message names the repo and the endpoint.</summary>
public sealed class HubException : Exception
{
    public HubException(HubErrorKind kind, string repo, string endpoint, string message, int? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        Repo = repo;
        Endpoint = endpoint;
        StatusCode = statusCode;
    }

    /// <summary>The kind of failure, from the HTTP status and the hub's <c>X-Error-Code</c> header.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>The repository id, e.g. <c>meta-llama/Llama-2-7b-chat-hf</c>.</summary>
    public string Repo { get; }

    /// <summary>The hub endpoint, e.g. <c>https://huggingface.co</c>.</summary>
    public string Endpoint { get; }

    /// <summary>The HTTP status code, when there was an HTTP answer.</summary>
    public int? StatusCode { get; }
}
