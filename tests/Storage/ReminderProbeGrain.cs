using System.Collections.Concurrent;

namespace DeepDeploy.Tests.Storage;

/// <summary>Counts its reminder's ticks in a static table, so that ticks after a cluster restart are seen too.</summary>
public sealed class ReminderProbeGrain : Grain, IReminderProbeGrain, IRemindable
{
    public const string ReminderName = "probe";

    public static ConcurrentDictionary<string, int> Ticks { get; } = new();

    public async Task StartAsync(TimeSpan due, TimeSpan period) => await this.RegisterOrUpdateReminder(ReminderName, due, period);

    public async Task StopAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.AddOrUpdate(this.GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}
