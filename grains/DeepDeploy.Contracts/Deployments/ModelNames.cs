namespace DeepDeploy.Contracts.Deployments;

/// <summary>A deployment has two names: the short one its owner chose (<c>model_name</c>, unique per owner) and
/// the full one clients call it by, <c>owner/model_name</c>. Every full name is built here.</summary>
public static class ModelNames
{
    public static string Full(string owner, string modelName) => $"{owner}/{modelName}";
}
