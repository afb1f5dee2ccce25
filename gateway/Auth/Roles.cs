namespace DeepDeploy.Gateway.Auth;

public static class Roles
{
    public const string Operator = "operator";
    public const string User = "user";

    /// <summary>The operator's user name in claims; no user may take it.</summary>
    public const string OperatorName = "admin";
}
