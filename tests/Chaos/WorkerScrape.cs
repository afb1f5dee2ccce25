namespace DeepDeploy.Tests.Chaos;

/// <summary>One scrape of a worker's /metrics: the most requests it ever held (accepted, and live in the batch)
/// and how many it answered whole.</summary>
public sealed record WorkerScrape(int Pid, int InFlightPeak, int RunningPeak, long AnsweredOk);
