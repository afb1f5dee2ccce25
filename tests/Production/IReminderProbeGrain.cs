namespace DeepDeploy.Tests.Production;

public interface IReminderProbeGrain : IGrainWithStringKey
{
    Task StartAsync(TimeSpan due, TimeSpan period);

    Task StopAsync();
}
