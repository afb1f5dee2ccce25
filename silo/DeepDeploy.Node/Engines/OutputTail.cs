namespace DeepDeploy.Node.Engines;

/// <summary>The last lines an engine process wrote, kept for error messages and logs; <paramref name="mask"/>
/// (a secret) is replaced wherever it appears, before the line is kept.</summary>
public sealed class OutputTail(int capacity = 200, string? mask = null)
{
    public const string Masked = "***";

    readonly Queue<string> _lines = new();

    public void Add(string line)
    {
        if (!string.IsNullOrEmpty(mask))
        {
            line = line.Replace(mask, Masked, StringComparison.Ordinal);
        }

        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    public string Last(int count) => string.Join('\n', LastLines(count));

    public IReadOnlyList<string> LastLines(int count)
    {
        lock (_lines)
        {
            return _lines.Skip(Math.Max(0, _lines.Count - count)).ToArray();
        }
    }
}
