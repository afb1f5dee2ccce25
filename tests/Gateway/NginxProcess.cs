using System.Net;
using System.Net.Sockets;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Gateway;

/// <summary>nginx (Debian package "nginx") as a round-robin reverse proxy on loopback to one or two workers, with its
/// configuration in a temp directory; the baseline of the gateway benchmark. Each worker accepts only its own
/// instance secret, so nginx sends each request to one upstream group per worker, taking turns by the parity of the
/// request's number on its client connection (stock nginx sets no per-server header in one group), and presents
/// that worker's secret.</summary>
public sealed class NginxProcess : IAsyncDisposable
{
    readonly ProcessHost _host;
    readonly string _dir;

    NginxProcess(ProcessHost host, string dir, Uri baseAddress)
    {
        _host = host;
        _dir = dir;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Pid => _host.Pid;

    public static string? Binary => new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    public static async Task<NginxProcess> StartAsync(IReadOnlyList<(string Endpoint, string Secret)> upstreams)
    {
        if (upstreams.Count is not (1 or 2))
        {
            throw new ArgumentException("One or two workers.", nameof(upstreams));
        }

        var binary = Binary ?? throw new InvalidOperationException("nginx is not installed (apt-get install nginx)");
        var dir = Directory.CreateTempSubdirectory("deepdeploy-nginx-").FullName;
        var port = Ports.Free();
        var groups = string.Join("\n", upstreams.Select((u, i) => $"  upstream w{i} {{ server {new Uri(u.Endpoint).Authority}; keepalive 128; }}"));
        var secrets = string.Join("\n", upstreams.Select((u, i) => $"    w{i} \"Bearer {u.Secret}\";"));
        var last = upstreams.Count - 1;
        var user = Environment.UserName == "root" ? "user root;" : "";
        await File.WriteAllTextAsync(Path.Combine(dir, "nginx.conf"), $$"""
            {{user}}
            worker_processes auto;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path {{dir}}/body;
              proxy_temp_path {{dir}}/proxy;
              fastcgi_temp_path {{dir}}/fastcgi;
              uwsgi_temp_path {{dir}}/uwsgi;
              scgi_temp_path {{dir}}/scgi;
            {{groups}}
              map $connection_requests $worker {
                ~[02468]$ w0;
                default w{{last}};
              }
              map $worker $instance_secret {
            {{secrets}}
              }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://$worker;
                  proxy_set_header Authorization $instance_secret;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_buffering off;
                  proxy_read_timeout 600s;
                }
              }
            }
            """);
        var host = ProcessHost.Start("nginx", binary, ["-p", dir, "-c", Path.Combine(dir, "nginx.conf"), "-g", "daemon off;"]);
        var nginx = new NginxProcess(host, dir, new Uri($"http://127.0.0.1:{port}"));
        try
        {
            await host.WaitUntilAsync(async () =>
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }, TimeSpan.FromSeconds(10), $"accepting on port {port}");
            return nginx;
        }
        catch (Exception e)
        {
            await nginx.DisposeAsync();
            throw new InvalidOperationException($"nginx did not start: {e.Message}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
