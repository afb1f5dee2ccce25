using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>The JSON of <c>PUT /deploy/{deploy_id}</c>: only settings change; absent values keep their current value.</summary>
public sealed record UpdateBody(InstanceSettings? Settings)
{
    /// <summary>Fields fixed at creation; a PUT naming one is refused with a 400 that says so.</summary>
    public static readonly IReadOnlyList<string> ImmutableFields = ["model_name", "gpu", "num_gpus", "max_batch_size", "hf", "extra_args", "quantization"];

    public static async Task<UpdateBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonBody.ReadAsync(request, RequestJsonContext.Default.UpdateBody, cancellationToken);
        }
        catch (BadRequestException e) when (e.Code == "unknown_field" && ImmutableFields.Contains(e.Field))
        {
            throw new BadRequestException(e.Field,
                $"'{e.Field}' cannot change after creation; only 'settings' can. Create a new deployment instead.", "immutable_field");
        }
    }

    /// <summary>The new (min, max) from the current ones.</summary>
    public (int Min, int Max) Apply(int currentMin, int currentMax)
    {
        var settings = Settings
            ?? throw new BadRequestException("settings", "'settings' is required: {\"settings\": {\"min_instances\": n, \"max_instances\": m}}.", "missing_field");
        var min = settings.MinInstances ?? currentMin;
        var max = settings.MaxInstances ?? currentMax;
        InstanceSettings.Validate(min, max);
        return (min, max);
    }
}
