namespace DeepDeploy.Node.Weights;

/// <summary>What went wrong talking to a Hugging Face-style hub.</summary>
public enum HubErrorKind
{
    /// <summary>The repository does not exist (or is private and not visible with this token).</summary>
    RepoNotFound,

    /// <summary>The repository exists but the revision (branch, tag or commit) does not.</summary>
    RevisionNotFound,

    /// <summary>The file does not exist at that revision.</summary>
    EntryNotFound,

    /// <summary>HTTP 401/403 or a gated repository: the token is missing, invalid or lacks access.</summary>
    Unauthorized,

    /// <summary>
    /// The transfer failed: connection or timeout errors, unexpected HTTP statuses (5xx, 429, ...),
    /// malformed answers, or a downloaded file whose size or hash does not match the hub's.
    /// </summary>
    Network,

    /// <summary>A file's body is larger than the size the hub reported for it (never retried).</summary>
    TooLarge,
}
