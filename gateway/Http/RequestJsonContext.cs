using System.Text.Json;
using System.Text.Json.Serialization;
using DeepDeploy.Gateway.Billing;
using DeepDeploy.Gateway.Deployments;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Users;

namespace DeepDeploy.Gateway.Http;

/// <summary>The request records the API reads, bound by generated code: snake_case names, trailing commas and
/// comments accepted (DeepInfra's own examples have them), unknown fields refused so that a typo never silently
/// becomes a default.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    AllowTrailingCommas = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    MaxDepth = MaxDepth)]
[JsonSerializable(typeof(DeployBody))]
[JsonSerializable(typeof(UpdateBody))]
[JsonSerializable(typeof(CreateUserBody))]
[JsonSerializable(typeof(QuotaBody))]
[JsonSerializable(typeof(TokenBody))]
[JsonSerializable(typeof(LimitBody))]
[JsonSerializable(typeof(NativeBody))]
public sealed partial class RequestJsonContext : JsonSerializerContext
{
    public const int MaxDepth = 16;
}
