using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeepDeploy.Silo.Storage;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Production;

/// <summary>Orleans TLS in production mode: silos, the GPU node and the gateway process share a certificate the test
/// generates (PKCS#12 for the silos, PEM for the gateway) and serve a deployment; an Orleans client with it calls a
/// grain; the silo and gateway ports refuse connections without it, with another certificate, or in plain text;
/// a silo without it is declared dead.</summary>
[Collection(SystemCollection.Name)]
public sealed class ClusterTlsTests(ITestOutputHelper log) : IDisposable
{
    const string Password = "test-pfx-password";
    const string Intruder = "intruder";

    readonly string _certificates = SystemHttp.NewDataDirectory("deepdeploy-tls-");

    [PostgresFact]
    public async Task A_TLS_cluster_serves_and_refuses_clients_and_silos_without_its_certificate()
    {
        using var cluster = CertificateFor("deepdeploy-cluster");
        using var stranger = CertificateFor("deepdeploy-cluster");
        var pfx = Path.Combine(_certificates, "cluster.pfx");
        File.WriteAllBytes(pfx, cluster.Export(X509ContentType.Pkcs12, Password));
        var pem = Path.Combine(_certificates, "cluster.crt");
        var key = Path.Combine(_certificates, "cluster.key");
        File.WriteAllText(pem, cluster.ExportCertificatePem());
        using (var rsa = cluster.GetRSAPrivateKey()!)
        {
            File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        }

        await using var system = await ProductionCluster.CreateAsync(log, controlSilos: 1, environment: (name, environment) =>
        {
            if (name == Intruder)
            {
                return;
            }

            if (name.StartsWith("gateway", StringComparison.Ordinal))
            {
                environment["DeepDeploy__Tls__Certificate"] = pem;
                environment["DeepDeploy__Tls__Key"] = key;
            }
            else
            {
                environment["DeepDeploy__Tls__Certificate"] = pfx;
                environment["DeepDeploy__Tls__Password"] = Password;
            }
        });
        try
        {
            await system.StartAllAsync();
            var token = await system.CreateUserAsync("tess");
            using var client = system.Client(token);
            var deployId = await ProductionCluster.DeployTinyAsync(client, "sealed");
            await ProductionCluster.WaitForAsync(client, deployId, ProductionCluster.IsRunningWithOneInstance, TimeSpan.FromSeconds(90));
            var (status, body) = await ProductionCluster.CompleteAsync(client, "tess/sealed");
            Assert.True(status == HttpStatusCode.OK, $"inference over the TLS cluster: {status} {body}");

            // An Orleans client with the cluster's certificate connects and calls a grain.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.Null(await TryCallAsync(system, cluster));
            log.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: the client with the cluster's certificate called");

            // Both Orleans ports of a silo hang up on a TLS client without a certificate or with another one, and on
            // plain bytes (what a client without TLS sends).
            var silo = system.ControlSilos.First();
            foreach (var port in new[] { silo.SiloPort, silo.GatewayPort })
            {
                await RefusedAsync(port, null);
                await RefusedAsync(port, stranger);
                await HungUpOnPlaintextAsync(port);
            }

            // A silo without the certificate cannot take part: the cluster's silos cannot reach it and declare it dead
            // (or it gives up); the cluster serves on.
            var intruder = system.Add(Intruder, "silo");
            intruder.Start();
            await Eventually.TrueAsync(
                async () => !intruder.IsRunning || await system.Database.ScalarAsync<int?>(
                    $"SELECT MAX(Status) FROM OrleansMembershipTable WHERE DeploymentId = '{system.ClusterId}' AND SiloName = '{Intruder}'") == 6,
                TimeSpan.FromMinutes(3), "the silo without a certificate is declared dead or gives up");
            log.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: intruder out (running: {intruder.IsRunning})");
            (status, body) = await ProductionCluster.CompleteAsync(client, "tess/sealed");
            Assert.True(status == HttpStatusCode.OK, $"inference after the intruder: {status} {body}");
        }
        catch
        {
            system.DumpLogs();
            throw;
        }
    }

    /// <summary>A TLS client presenting <paramref name="certificate"/> (or none) and accepting any server certificate,
    /// so that only the server's verdict counts: the server fails the handshake or closes the connection right after
    /// it (the server checks the client's certificate once the handshake completes). A server that accepted would
    /// wait for the Orleans preamble instead, and the read would time out.</summary>
    static async Task RefusedAsync(int port, X509Certificate2? certificate)
    {
        var refusal = await Record.ExceptionAsync(async () =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "deepdeploy-cluster",
                ClientCertificates = certificate is null ? null : [certificate],
            }).WaitAsync(TimeSpan.FromSeconds(30));
            if (await tls.ReadAsync(new byte[256]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)) == 0)
            {
                throw new IOException("closed by the server");
            }
        });
        Assert.True(refusal is AuthenticationException or IOException,
            $"port {port} with {certificate?.Thumbprint ?? "no certificate"}: expected the server to refuse the connection, got {refusal?.ToString() ?? "data"}");
    }

    /// <summary>What a client without TLS sends (Orleans' plain connection preamble is not a TLS record): the server
    /// closes the connection.</summary>
    static async Task HungUpOnPlaintextAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(new byte[64]);
        try
        {
            Assert.Equal(0, await stream.ReadAsync(new byte[256]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        }
        catch (IOException)
        {
            // Reset instead of closed: refused just the same.
        }
    }

    /// <summary>Connects an Orleans client with <paramref name="certificate"/> and calls a grain; the failure, or null
    /// when the call succeeded.</summary>
    static async Task<Exception?> TryCallAsync(ProductionCluster system, X509Certificate2 certificate)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.UseDeepDeployPostgresClustering(system.Database.ConnectionString);
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (system.ClusterId, system.ClusterId));
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            client.UseTls(certificate, tls => tls.AllowAnyRemoteCertificate());
        });
        using var host = builder.Build();
        try
        {
            await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await host.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)
                .WaitAsync(TimeSpan.FromSeconds(30));
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
        finally
        {
            try
            {
                await host.StopAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
                // A client that never connected has nothing to stop.
            }
        }
    }

    /// <summary>A self-signed certificate for both ends of a connection (server and client authentication).</summary>
    static X509Certificate2 CertificateFor(string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    public void Dispose() => Directory.Delete(_certificates, recursive: true);
}
