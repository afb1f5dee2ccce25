namespace DeepDeploy.Silo.Hosting.Tls;

/// <summary>TLS of the Orleans silo and gateway ports (section DeepDeploy:Tls). Off while <see cref="Certificate"/>
/// is unset: the embedded all-in-one host listens on loopback only. Required in production (see docs/tls.md):
/// every silo and every gateway-role process presents a certificate and accepts only peers whose certificate
/// this process trusts.</summary>
public sealed class ClusterTlsOptions
{
    /// <summary>Path of this process's certificate with its private key: a PKCS#12 file (.pfx/.p12, see
    /// <see cref="Password"/>) or a PEM file (the key in the same file, or in <see cref="Key"/>).</summary>
    public string? Certificate { get; set; }

    /// <summary>Path of the PEM private key when it is not in the <see cref="Certificate"/> file.</summary>
    public string? Key { get; set; }

    /// <summary>Password of the PKCS#12 file, or of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    /// <summary>Path of a PEM file of the certificate authorities that peers' certificates must chain to. Unset: a
    /// peer must present this process's own certificate (one shared cluster certificate).</summary>
    public string? Authority { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Certificate);
}
