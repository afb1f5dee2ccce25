using System.Security.Claims;

namespace DeepDeploy.Gateway.Auth;

/// <summary>Who a bearer token is, decided once per look-up: the name and whether it is the operator, read without
/// enumerating claims (the inference path asks on every request), and the same caller as a principal for ASP.NET Core.</summary>
public sealed class BearerCaller
{
    /// <summary>Shared by every operator request, as a user's is by its token's (<see cref="BearerTokenCache"/>).</summary>
    public static readonly BearerCaller Operator = new(Roles.OperatorName, Roles.Operator);

    public BearerCaller(string name, string role)
    {
        Name = name;
        IsOperator = role == Roles.Operator;
        Principal = BearerPrincipal.Of(name, role);
    }

    public string Name { get; }

    public bool IsOperator { get; }

    public ClaimsPrincipal Principal { get; }

    /// <summary>May this caller use <paramref name="owner"/>'s deployments: the operator any, a user its own.</summary>
    public bool CanUse(string owner) => IsOperator || Name == owner;
}
