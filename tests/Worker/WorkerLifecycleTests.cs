using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Tests.Support;
using Xunit;
using static DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.Worker;

/// <summary>Start-up, failure and shutdown of real worker processes (each test starts its own).</summary>
public sealed class WorkerLifecycleTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public async Task Health_is_503_loading_then_200_ok()
    {
        var worker = await WorkerProcess.StartAsync(model.ModelPath, ["--max-batch-size", "2"],
            new Dictionary<string, string> { ["DEEPDEPLOY_WORKER_LOAD_DELAY_MS"] = "1500" });
        try
        {
            Assert.Matches(@"^DEEPDEPLOY_WORKER_LISTENING http://127\.0\.0\.1:\d+\r?\n$", worker.Stdout);
            using (var loading = await worker.Http.GetAsync("/health"))
            {
                Assert.Equal(503, (int)loading.StatusCode);
                var body = JsonDocument.Parse(await loading.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal("loading", body.GetProperty("status").GetString());
            }
            var (status, error) = await WorkerApi.PostAsync(worker.Http, "/v1/completions", new JsonObject { ["prompt"] = "x" });
            Assert.Equal(503, status);
            Assert.True(error.TryGetProperty("error", out _));

            var health = await worker.WaitHealthyAsync();
            Assert.Equal("ok", health.GetProperty("status").GetString());
            Assert.Equal("tiny", health.GetProperty("model").GetString()); // default name: file name without extension
            Assert.Equal(2, health.GetProperty("max_batch_size").GetInt32());
            Assert.Single(worker.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // stdout holds only the LISTENING line
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Sigterm_drains_in_flight_requests_and_exits_zero()
    {
        // The fake engine's fixed token rate makes the stream last 3 s however loaded the machine is, well inside the
        // drain timeout; the real engine's 1,000 tokens outlasted it on a loaded CI machine.
        var worker = await WorkerProcess.StartAsync(model.ModelPath,
            ["--max-batch-size", "2", "--engine", "fake", "--fake-token-rate", "100"]);
        try
        {
            await worker.WaitHealthyAsync();
            var inFlight = WorkerApi.StreamAsync(worker.Http, "/v1/completions",
                new JsonObject { ["prompt"] = "drain me", ["max_tokens"] = 300, ["stream"] = true });
            await Eventually.TrueAsync(async () => await worker.MetricAsync(Metrics.RequestsRunning) >= 1,
                TimeSpan.FromSeconds(10), "the stream running");

            worker.SendSigterm();
            // The signal is handled asynchronously: wait until health answers 503 (the stream is still running).
            var healthStatus = await Eventually.MatchAsync(async () =>
            {
                using var health = await worker.Http.GetAsync("/health");
                var status = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString();
                return (Code: (int)health.StatusCode, Status: status);
            }, h => h.Code == 503, TimeSpan.FromSeconds(10), "health refusing during the drain");
            Assert.Equal("draining", healthStatus.Status);
            var (refused, _) = await WorkerApi.PostAsync(worker.Http, "/v1/completions", new JsonObject { ["prompt"] = "late" });
            Assert.Equal(503, refused);

            var events = await inFlight;
            Assert.Equal("[DONE]", events[^1]);
            var usage = JsonDocument.Parse(events[^2]).RootElement.GetProperty("usage");
            Assert.Equal(300, usage.GetProperty("completion_tokens").GetInt32());

            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(20)), "worker did not exit after SIGTERM");
            Assert.True(worker.ExitCode == 0, $"exit code {worker.ExitCode}; stderr:\n{worker.Stderr}");
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Sigterm_when_idle_exits_zero_quickly()
    {
        var worker = await WorkerProcess.StartAsync(model.ModelPath);
        try
        {
            await worker.WaitHealthyAsync();
            worker.SendSigterm();
            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(5)), "idle worker did not exit promptly");
            Assert.Equal(0, worker.ExitCode);
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Unloadable_model_exits_nonzero_with_error_on_stderr()
    {
        var bad = Path.Combine(model.Directory, "broken.gguf");
        await File.WriteAllTextAsync(bad, "this is not a gguf file at all");
        var worker = await WorkerProcess.StartAsync(bad);
        try
        {
            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(20)), "worker kept running with a broken model");
            Assert.NotEqual(0, worker.ExitCode);
            Assert.Contains("DEEPDEPLOY_WORKER_ERROR", worker.Stderr);
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Missing_model_file_exits_nonzero_before_listening()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            WorkerProcess.StartAsync(Path.Combine(model.Directory, "nope.gguf")));
        Assert.Contains("model file not found", ex.Message);
    }
}
