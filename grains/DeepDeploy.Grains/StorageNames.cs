namespace DeepDeploy.Grains;

/// <summary>Names of the grain storage providers the silo must register.</summary>
public static class StorageNames
{
    public const string Default = "deepdeploy";
}
