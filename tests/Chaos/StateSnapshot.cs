using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace DeepDeploy.Tests.Chaos;

/// <summary>
/// What must survive every fault, read through the API: deployments (operator's list: id, name, status, config,
/// settings), users (operator's list), quotas (each user's limits and reserved GPUs from /v1/me) and billing
/// meters (each user's GPU-seconds per deployment from /billing/usage, which may only grow).
/// </summary>
public sealed record StateSnapshot(
    IReadOnlyDictionary<string, string> Deployments,
    IReadOnlySet<string> Users,
    IReadOnlyDictionary<string, string> Quotas,
    IReadOnlyDictionary<string, double> Meters)
{
    public static async Task<StateSnapshot> TakeAsync(HttpClient admin, IReadOnlyDictionary<string, HttpClient> users)
    {
        var deployments = (await admin.GetFromJsonAsync<JsonElement>("/deploy/list")).EnumerateArray().ToDictionary(
            d => d.GetProperty("deploy_id").GetString()!,
            d => $"{d.GetProperty("model_name")} {d.GetProperty("status")} {d.GetProperty("config")} {d.GetProperty("settings")}");
        var listed = (await admin.GetFromJsonAsync<JsonElement>("/admin/users")).EnumerateArray()
            .Select(u => u.GetProperty("name").GetString()!).ToHashSet(StringComparer.Ordinal);
        var quotas = new Dictionary<string, string>();
        var meters = new Dictionary<string, double>();
        foreach (var (name, client) in users)
        {
            var me = await client.GetFromJsonAsync<JsonElement>("/v1/me");
            quotas[name] = $"limit={me.GetProperty("gpu_limit")} reserved={me.GetProperty("gpus_reserved")}";
            var usage = await client.GetFromJsonAsync<JsonElement>("/billing/usage?from=2000-01-01T00:00:00Z");
            foreach (var line in usage.GetProperty("deployments").EnumerateArray())
            {
                meters[$"{name}/{line.GetProperty("deploy_id").GetString()}"] = line.GetProperty("gpu_seconds").GetDouble();
            }
        }

        return new StateSnapshot(deployments, listed, quotas, meters);
    }

    /// <summary>What <paramref name="after"/> lost of this snapshot: deployments gone or changed, users gone, quotas
    /// changed, meters gone or gone back. Each entry says what.</summary>
    public (List<string> Deployments, List<string> Users, List<string> Quotas, List<string> Meters) Lost(StateSnapshot after) =>
    (
        Deployments.Where(d => !after.Deployments.TryGetValue(d.Key, out var now) || now != d.Value)
            .Select(d => $"{d.Key}: {d.Value} -> {after.Deployments.GetValueOrDefault(d.Key) ?? "gone"}").ToList(),
        Users.Where(u => !after.Users.Contains(u)).ToList(),
        Quotas.Where(q => after.Quotas.GetValueOrDefault(q.Key) != q.Value)
            .Select(q => $"{q.Key}: {q.Value} -> {after.Quotas.GetValueOrDefault(q.Key) ?? "gone"}").ToList(),
        Meters.Where(m => !after.Meters.TryGetValue(m.Key, out var now) || now + 0.001 < m.Value)
            .Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key}: {m.Value:0.###} -> {after.Meters.GetValueOrDefault(m.Key):0.###} GPU-s")).ToList()
    );
}
