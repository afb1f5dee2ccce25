using System.Globalization;

namespace DeepDeploy.Gateway.WebConsole.Components.Shared;

/// <summary>How the console writes amounts and sizes.</summary>
public static class Money
{
    /// <summary>Cents, and four decimals below a cent, where a short run's cost lives.</summary>
    public static string Usd(decimal amount) => amount.ToString(amount is > 0 and < 0.01m ? "$0.0000" : "$#,0.00", CultureInfo.InvariantCulture);

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.0 GiB", CultureInfo.InvariantCulture),
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0 MiB", CultureInfo.InvariantCulture),
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.0 KiB", CultureInfo.InvariantCulture),
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
