using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DeepDeploy.Tests.Gateway;

/// <summary>nginx (Debian package "nginx") as a round-robin reverse proxy on loopback to the given upstreams,
/// with its configuration in a temp directory; the baseline of the gateway benchmark.</summary>
public sealed class NginxProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly string _dir;

    NginxProcess(Process process, string dir, Uri baseAddress)
    {
        _process = process;
        _dir = dir;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static string? Binary => new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    public static async Task<NginxProcess> StartAsync(IEnumerable<string> upstreams)
    {
        var binary = Binary ?? throw new InvalidOperationException("nginx is not installed (apt-get install nginx)");
        var dir = Directory.CreateTempSubdirectory("deepdeploy-nginx-").FullName;
        var port = Ports.Free();
        var servers = string.Join("\n", upstreams.Select(u => $"    server {new Uri(u).Authority};"));
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
              upstream workers {
            {{servers}}
                keepalive 256;
              }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://workers;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_buffering off;
                  proxy_read_timeout 600s;
                }
              }
            }
            """);
        var start = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-p", dir, "-c", Path.Combine(dir, "nginx.conf"), "-g", "daemon off;" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var nginx = new NginxProcess(process, dir, new Uri($"http://127.0.0.1:{port}"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return nginx;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch
            {
                var error = process.HasExited ? await process.StandardError.ReadToEndAsync() : "no answer";
                await nginx.DisposeAsync();
                throw new InvalidOperationException($"nginx did not start: {error}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
