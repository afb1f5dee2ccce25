using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Billing;

/// <summary>The JSON of <c>PUT /billing/limit</c>: <c>usd</c> is required, and null removes the limit. A settable
/// property (not a constructor parameter) because only then is its setter called just when the field is present,
/// which tells "absent" from "null".</summary>
public sealed class LimitBody
{
    public const decimal MaxUsd = 1_000_000_000m;

    public decimal? Usd
    {
        get;
        set
        {
            field = value;
            HasUsd = true;
        }
    }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasUsd { get; private set; }

    /// <summary>The new limit, or null for none.</summary>
    public decimal? Validate()
    {
        if (!HasUsd)
        {
            throw new BadRequestException("usd", "'usd' is required: a number, or null to remove the limit.", "missing_field");
        }

        return Usd is null or (>= 0 and <= MaxUsd)
            ? Usd
            : throw new BadRequestException("usd", "'usd' must be a number from 0 to 1000000000, or null.");
    }
}
