using Orleans.Connections.Security;

namespace DeepDeploy.Silo.Hosting.Tls;

/// <summary>Orleans' own TLS (<c>UseTls</c>) on the silo-to-silo and client-to-gateway connections, mutually
/// authenticated: each side presents its certificate and checks the other's with <see cref="ClusterCertificates.Trusts"/>.</summary>
public static class ClusterTlsExtensions
{
    public static ISiloBuilder UseDeepDeployTls(this ISiloBuilder silo, ClusterTlsOptions options, bool production)
    {
        if (!options.Enabled)
        {
            WarnIfProduction(silo.Services, production);
            return silo;
        }

        var certificates = ClusterCertificates.Load(options);
        return silo.UseTls(certificates.Local, tls => Configure(tls, certificates));
    }

    public static IClientBuilder UseDeepDeployTls(this IClientBuilder client, ClusterTlsOptions options, bool production)
    {
        if (!options.Enabled)
        {
            WarnIfProduction(client.Services, production);
            return client;
        }

        var certificates = ClusterCertificates.Load(options);
        return client.UseTls(certificates.Local, tls => Configure(tls, certificates));
    }

    static void Configure(TlsOptions tls, ClusterCertificates certificates)
    {
        // Mutual: silos and gateways alike must present a certificate the cluster trusts.
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.RemoteCertificateValidation = certificates.Trusts;
    }

    static void WarnIfProduction(IServiceCollection services, bool production)
    {
        if (production)
        {
            services.AddHostedService<PlaintextClusterWarning>();
        }
    }
}
