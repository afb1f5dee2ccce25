using System.Globalization;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// One fault's line of the chaos table, from the attempts that ended in its window [fault, next fault): requests in
/// flight when it struck, failed attempts by what the client saw, logical requests that succeeded on a client
/// retry, losses, how long until the deployment served again at full strength and until the deploy API wrote
/// again, and the state lost (deployments/users/quotas/meters).
/// </summary>
public sealed record FaultRow(
    string Fault,
    int InFlight,
    int Failed,
    string FailedBy,
    int RetriedOk,
    int Lost,
    int ServerErrors,
    double? ServingAfterSeconds,
    double? WritesAfterSeconds,
    string StateLost)
{
    public static FaultRow From(string fault, DateTime at, DateTime until, IReadOnlyCollection<Attempt> attempts,
        double? serving, double? writes, string stateLost)
    {
        var window = attempts.Where(a => a.End >= at && a.End < until).ToList();
        var failed = window.Where(a => a.Outcome != AttemptOutcome.Ok).ToList();
        var failedBy = string.Join(", ", failed.GroupBy(a => a.Seen).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} ×{g.Count()}"));
        return new FaultRow(fault,
            attempts.Count(a => a.InFlightAt(at)),
            failed.Count,
            failedBy.Length == 0 ? "—" : failedBy,
            window.Count(a => a.Outcome == AttemptOutcome.Ok && a.Try > 0),
            window.Count(a => a.IsLoss),
            window.Count(a => a.Status == 500),
            serving,
            writes,
            stateLost);
    }

    public const string Header =
        "| fault | in flight at fault | failed attempts | seen by clients | ok after client retry | lost (no answer / cut clean / duplicated) | 500s | serving at full strength after | deploy API writes after | deployments / users / quotas / meters lost |\n"
        + "|---|---:|---:|---|---:|---:|---:|---:|---:|---|";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"| {Fault} | {InFlight} | {Failed} | {FailedBy} | {RetriedOk} | {Lost} | {ServerErrors} | {Seconds(ServingAfterSeconds)} | {Seconds(WritesAfterSeconds)} | {StateLost} |");

    static string Seconds(double? s) => s is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v:0.0} s") : "not within the limit";
}
