namespace DeepDeploy.Tests.Storage;

public interface IReminderProbeGrain : IGrainWithStringKey
{
    Task StartAsync(TimeSpan due, TimeSpan period);

    Task StopAsync();
}
