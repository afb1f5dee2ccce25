using System.Globalization;

namespace DeepDeploy.Tests.Soak;

/// <summary>The long forms' knobs (environment variables), with the CI forms as defaults.</summary>
public static class SoakEnvironment
{
    public static double Number(string variable, double ciDefault) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? double.Parse(value, CultureInfo.InvariantCulture)
            : ciDefault;
}
