using System.Collections.Concurrent;

namespace DeepDeploy.Tests.Support;

/// <summary>
/// What a test-started process printed: the last lines of stdout and stderr in the order they came, bounded so
/// a long-running process cannot fill memory. One instance may outlive a process, to keep the output of earlier
/// runs of a process that is restarted.
/// </summary>
public sealed class ProcessOutput
{
    const int MaxLines = 10_000;

    readonly ConcurrentQueue<(bool Error, string Line)> _lines = new();

    /// <summary>Every kept stdout line, each followed by a newline.</summary>
    public string Stdout => Text(error: false);

    /// <summary>Every kept stderr line, each followed by a newline.</summary>
    public string Stderr => Text(error: true);

    public void Add(string line, bool error = false)
    {
        _lines.Enqueue((error, line));
        while (_lines.Count > MaxLines && _lines.TryDequeue(out _))
        {
        }
    }

    /// <summary>The first stdout or stderr line that <paramref name="match"/> accepts, or null.</summary>
    public string? Find(Func<string, bool> match) =>
        _lines.Select(l => l.Line).FirstOrDefault(match);

    /// <summary>The last <paramref name="count"/> lines of both streams, for a failure message.</summary>
    public string Tail(int count = 60) => string.Join("\n", _lines.TakeLast(count).Select(l => l.Line));

    string Text(bool error) => string.Concat(_lines.Where(l => l.Error == error).Select(l => l.Line + "\n"));
}
