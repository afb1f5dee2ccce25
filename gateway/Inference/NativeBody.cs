using System.Text.Json.Serialization;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Inference;

/// <summary>
/// DeepInfra's native text-generation body (<c>POST /v1/inference/{user}/{model}</c>): <c>input</c> (required),
/// <c>max_new_tokens</c> (default 512), <c>temperature</c> (default 0.7), <c>top_p</c> (default 0.9), <c>stop</c>
/// (a string or up to 4 strings), <c>stream</c>, <c>seed</c>; other fields are refused with a 400 naming them.
/// </summary>
public sealed record NativeBody(
    string? Input,
    int? MaxNewTokens,
    double? Temperature,
    double? TopP,
    [property: JsonConverter(typeof(StopSequencesConverter))] IReadOnlyList<string>? Stop,
    bool? Stream,
    long? Seed)
{
    public const int DefaultMaxNewTokens = 512;
    public const double DefaultTemperature = 0.7;
    public const double DefaultTopP = 0.9;

    /// <summary>Checks every rule and applies the defaults.</summary>
    public NativeBody Validate()
    {
        var input = Input ?? throw new BadRequestException("input", "'input' is required: the text to continue.", "missing_field");
        var maxNewTokens = MaxNewTokens ?? DefaultMaxNewTokens;
        if (maxNewTokens < 1)
        {
            throw new BadRequestException("max_new_tokens", "'max_new_tokens' must be at least 1.");
        }

        var temperature = Temperature ?? DefaultTemperature;
        if (temperature is < 0 or > 2)
        {
            throw new BadRequestException("temperature", "'temperature' must be between 0 and 2.");
        }

        var topP = TopP ?? DefaultTopP;
        if (topP is <= 0 or > 1)
        {
            throw new BadRequestException("top_p", "'top_p' must be greater than 0 and at most 1.");
        }

        var stop = Stop ?? [];
        if (stop.Count > 4 || stop.Any(x => x.Length == 0))
        {
            throw new BadRequestException("stop", "'stop' must be a string or at most 4 non-empty strings.");
        }

        return new NativeBody(input, maxNewTokens, temperature, topP, stop, Stream ?? false, Seed);
    }
}
