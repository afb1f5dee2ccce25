using System.Text;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>
/// Accumulates generated text and decides what may be released to the client: text that could still
/// turn into a stop string is held back; once a stop string appears, the text before it is released
/// and generation must end (the stop string itself is never returned, as in OpenAI's API).
/// </summary>
sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    readonly StringBuilder _text = new();
    int _released;

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns the text that can be released now (possibly empty).</summary>
    public string Append(string piece)
    {
        if (Stopped || piece.Length == 0)
        {
            return string.Empty;
        }

        _text.Append(piece);
        if (stops.Count == 0)
        {
            return Release(_text.Length);
        }

        var text = _text.ToString();
        var stopAt = -1;
        foreach (var stop in stops)
        {
            var idx = text.IndexOf(stop, _released, StringComparison.Ordinal);
            if (idx >= 0 && (stopAt < 0 || idx < stopAt))
            {
                stopAt = idx;
            }
        }
        if (stopAt >= 0)
        {
            Stopped = true;
            return Release(stopAt);
        }

        // Hold back the longest tail that is a proper prefix of some stop string.
        var hold = 0;
        foreach (var stop in stops)
        {
            for (var len = Math.Min(stop.Length - 1, text.Length - _released); len > hold; len--)
            {
                if (string.CompareOrdinal(text, text.Length - len, stop, 0, len) == 0)
                {
                    hold = len;
                    break;
                }
            }
        }
        return Release(text.Length - hold);
    }

    /// <summary>Releases whatever was held back (generation ended for another reason).</summary>
    public string Flush() => Stopped ? string.Empty : Release(_text.Length);

    string Release(int end)
    {
        if (end <= _released)
        {
            return string.Empty;
        }

        var s = _text.ToString(_released, end - _released);
        _released = end;
        return s;
    }
}
