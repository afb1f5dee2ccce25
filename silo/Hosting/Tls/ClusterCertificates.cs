using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DeepDeploy.Silo.Hosting.Tls;

/// <summary>The certificate this process presents and the rule by which it trusts a peer's: chained to a configured
/// authority, or else identical to its own. Nothing else is accepted, whatever the system's trust store holds.</summary>
public sealed class ClusterCertificates
{
    readonly X509Certificate2Collection? _authorities;

    ClusterCertificates(X509Certificate2 local, X509Certificate2Collection? authorities)
    {
        Local = local;
        _authorities = authorities;
    }

    public X509Certificate2 Local { get; }

    /// <summary>Loads the files the options name; a clear <see cref="ConfigurationException"/> when one is missing or unusable.</summary>
    public static ClusterCertificates Load(ClusterTlsOptions options)
    {
        var path = options.Certificate ?? throw new ConfigurationException("DeepDeploy:Tls:Certificate is not set.");
        var local = Read("DeepDeploy:Tls:Certificate", path, () => LoadLocal(path, options));
        if (!local.HasPrivateKey)
        {
            throw new ConfigurationException(
                $"The TLS certificate '{path}' (DeepDeploy:Tls:Certificate) has no private key: use a PKCS#12 file with its key, or set DeepDeploy:Tls:Key to the PEM key.");
        }

        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrWhiteSpace(options.Authority))
        {
            authorities = Read("DeepDeploy:Tls:Authority", options.Authority, () =>
            {
                var collection = new X509Certificate2Collection();
                collection.ImportFromPemFile(options.Authority);
                return collection;
            });
            if (authorities.Count == 0)
            {
                throw new ConfigurationException($"The TLS authority file '{options.Authority}' (DeepDeploy:Tls:Authority) holds no PEM certificate.");
            }
        }

        return new ClusterCertificates(local, authorities);
    }

    /// <summary>Whether a peer's certificate is one this cluster issued (the platform's own verdict is not used:
    /// cluster certificates are usually self-signed or from a private authority, and carry no host names).</summary>
    public bool Trusts(X509Certificate2? remote, X509Chain? chain, SslPolicyErrors errors)
    {
        if (remote is null)
        {
            return false;
        }

        if (_authorities is null)
        {
            var now = DateTime.Now;
            return remote.RawDataMemory.Span.SequenceEqual(Local.RawDataMemory.Span) && remote.NotBefore <= now && now <= remote.NotAfter;
        }

        using var verifier = new X509Chain();
        verifier.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        verifier.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        // A private cluster authority publishes no revocation lists: rotate by replacing the authority.
        verifier.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            verifier.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }

        return verifier.Build(remote);
    }

    static X509Certificate2 LoadLocal(string path, ClusterTlsOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Key))
        {
            return string.IsNullOrEmpty(options.Password)
                ? X509Certificate2.CreateFromPemFile(path, options.Key)
                : X509Certificate2.CreateFromEncryptedPemFile(path, options.Password, options.Key);
        }

        if (File.ReadAllText(path).Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return string.IsNullOrEmpty(options.Password)
                ? X509Certificate2.CreateFromPemFile(path)
                : X509Certificate2.CreateFromEncryptedPemFile(path, options.Password);
        }

        return X509CertificateLoader.LoadPkcs12FromFile(path, options.Password);
    }

    static T Read<T>(string setting, string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ConfigurationException($"Cannot read the TLS file '{path}' ({setting}): {e.Message}");
        }
    }
}
