using System.Diagnostics.Metrics;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>Reads the instruments of one meter name created by given meter factories (the silos of one test
/// cluster, not those of tests running beside it): counters summed as measured, gauges read on demand.</summary>
public sealed class ControlPlaneMetricsCapture : IDisposable
{
    readonly MeterListener _listener = new();
    readonly Lock _lock = new();
    readonly Dictionary<(string Instrument, string Tags), double> _counters = [];
    readonly Dictionary<(string Instrument, string Tags), double> _gauges = [];

    public ControlPlaneMetricsCapture(string meterName, IReadOnlyCollection<IMeterFactory> scopes)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meterName && scopes.Contains(instrument.Meter.Scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>The sum of the series of <paramref name="instrument"/> whose attributes include <paramref name="match"/>
    /// (gauges as observed now, summed over silos; counters since the capture started).</summary>
    public double Sum(string instrument, params (string Key, object Value)[] match)
    {
        lock (_lock)
        {
            _gauges.Clear();
        }

        _listener.RecordObservableInstruments();
        lock (_lock)
        {
            return _counters.Concat(_gauges)
                .Where(e => e.Key.Instrument == instrument && match.All(m => e.Key.Tags.Contains($"{m.Key}={m.Value};", StringComparison.Ordinal)))
                .Sum(e => e.Value);
        }
    }

    /// <summary>The distinct attribute sets <paramref name="instrument"/> was measured with.</summary>
    public IReadOnlyList<Dictionary<string, string>> Series(string instrument)
    {
        lock (_lock)
        {
            return _counters.Keys.Concat(_gauges.Keys).Where(k => k.Instrument == instrument).Select(k => k.Tags).Distinct()
                .Select(t => t.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]))
                .ToList();
        }
    }

    void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = (instrument.Name, string.Concat(tags.ToArray().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value};")));
        var gauge = instrument is ObservableGauge<int> or ObservableGauge<long> or ObservableGauge<double>;
        lock (_lock)
        {
            // Gauges add up over silos; observable counters report their running total; counters report increments.
            var target = gauge ? _gauges : _counters;
            target[key] = instrument.IsObservable && !gauge ? value : target.GetValueOrDefault(key) + value;
        }
    }

    public void Dispose() => _listener.Dispose();
}
