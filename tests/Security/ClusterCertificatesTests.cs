using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeepDeploy.Silo.Hosting;
using DeepDeploy.Silo.Hosting.Tls;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Security;

/// <summary>Which peer certificates the Orleans TLS of a process trusts, from the files its settings name.</summary>
[Trait("Category", "Unit")]
public sealed class ClusterCertificatesTests : IDisposable
{
    readonly string _directory = SystemHttp.NewDataDirectory("deepdeploy-certs-");

    [Fact]
    public void Without_an_authority_only_the_process_s_own_certificate_is_trusted()
    {
        using var cluster = SelfSigned("deepdeploy-cluster");
        using var stranger = SelfSigned("deepdeploy-cluster");
        var certificates = ClusterCertificates.Load(new ClusterTlsOptions { Certificate = Pfx(cluster, "secret"), Password = "secret" });

        using var presented = X509CertificateLoader.LoadCertificate(cluster.RawData);
        Assert.True(certificates.Trusts(presented, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(certificates.Trusts(stranger, null, SslPolicyErrors.None));
        Assert.False(certificates.Trusts(null, null, SslPolicyErrors.None));
    }

    [Fact]
    public void With_an_authority_a_certificate_it_issued_is_trusted_and_a_self_signed_one_is_not()
    {
        using var authorityKey = RSA.Create(2048);
        var authorityRequest = new CertificateRequest("CN=deepdeploy-ca", authorityKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var authority = authorityRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
        using var silo = Issued(authority, "silo-1");
        using var gateway = Issued(authority, "gateway-1");
        using var stranger = SelfSigned("gateway-1");
        var authorityFile = Path.Combine(_directory, "ca.crt");
        File.WriteAllText(authorityFile, authority.ExportCertificatePem());
        var (pem, key) = Pem(silo);

        var certificates = ClusterCertificates.Load(new ClusterTlsOptions { Certificate = pem, Key = key, Authority = authorityFile });

        Assert.True(certificates.Local.HasPrivateKey);
        Assert.True(certificates.Trusts(gateway, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(certificates.Trusts(stranger, null, SslPolicyErrors.None));
    }

    [Fact]
    public void A_certificate_without_its_key_or_a_missing_file_refuses_to_start_naming_the_setting()
    {
        using var cluster = SelfSigned("deepdeploy-cluster");
        using var withoutKey = X509CertificateLoader.LoadCertificate(cluster.RawData);
        var pemWithoutKey = Path.Combine(_directory, "only.crt");
        File.WriteAllText(pemWithoutKey, cluster.ExportCertificatePem());

        var noKey = Assert.Throws<ConfigurationException>(() =>
            ClusterCertificates.Load(new ClusterTlsOptions { Certificate = Pfx(withoutKey, "secret"), Password = "secret" }));
        Assert.Contains("has no private key", noKey.Message);
        var pemNoKey = Assert.Throws<ConfigurationException>(() => ClusterCertificates.Load(new ClusterTlsOptions { Certificate = pemWithoutKey }));
        Assert.Contains("DeepDeploy:Tls:Certificate", pemNoKey.Message);
        var missing = Assert.Throws<ConfigurationException>(() =>
            ClusterCertificates.Load(new ClusterTlsOptions { Certificate = Path.Combine(_directory, "absent.pfx") }));
        Assert.Contains("DeepDeploy:Tls:Certificate", missing.Message);
        var wrongPassword = Assert.Throws<ConfigurationException>(() =>
            ClusterCertificates.Load(new ClusterTlsOptions { Certificate = Pfx(cluster, "secret"), Password = "wrong" }));
        Assert.Contains("DeepDeploy:Tls:Certificate", wrongPassword.Message);
    }

    string Pfx(X509Certificate2 certificate, string password)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    (string Certificate, string Key) Pem(X509Certificate2 certificate)
    {
        var name = Path.Combine(_directory, Guid.NewGuid().ToString("N"));
        File.WriteAllText(name + ".crt", certificate.ExportCertificatePem());
        using var rsa = certificate.GetRSAPrivateKey()!;
        File.WriteAllText(name + ".key", rsa.ExportPkcs8PrivateKeyPem());
        return (name + ".crt", name + ".key");
    }

    static X509Certificate2 SelfSigned(string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    static X509Certificate2 Issued(X509Certificate2 authority, string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(rsa);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
