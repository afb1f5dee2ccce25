using DeepDeploy.Simulation.Engine;
using DeepDeploy.Simulation.Workload;

namespace DeepDeploy.Tests.Simulation;

/// <summary>The simulation's inputs: the latency model, its override file, the synthetic workload and the trace format.</summary>
[Trait("Category", "Unit")]
public sealed class SimulationInputTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("deepdeploy-sim-input-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Decode_per_sequence_slows_as_the_batch_grows_and_start_up_follows_the_weights()
    {
        var h100 = new LatencyModel().For("H100-80GB");
        Assert.Equal(h100.DecodeTokensPerSecond, h100.DecodePerSequence(1));
        Assert.True(h100.DecodePerSequence(8) < h100.DecodePerSequence(1));
        Assert.True(8 * h100.DecodePerSequence(8) > 6 * h100.DecodePerSequence(1), "batching still multiplies throughput");
        Assert.Equal(h100.StartSeconds + 140 / h100.LoadGigabytesPerSecond, h100.StartupSeconds(140), 6);
        Assert.Throws<ArgumentException>(() => new LatencyModel().For("TPU-v5"));
    }

    [Fact]
    public void A_latency_file_overrides_what_it_names_and_keeps_the_other_defaults()
    {
        var model = LatencyModel.Load(Write("model.json", """
            {"gpus": {"H100-80GB": {"prefill_tokens_per_second": 1000, "decode_tokens_per_second": 10, "decode_batch_slowdown": 0.5,
              "load_gigabytes_per_second": 1, "start_seconds": 5}}, "weights_gigabytes": {"big/model": 140}, "default_weights_gigabytes": 4}
            """));
        Assert.Equal(10, model.For("H100-80GB").DecodeTokensPerSecond);
        Assert.Equal(LatencyModel.Defaults["A100-80GB"], model.For("A100-80GB"));
        Assert.Equal(140, model.WeightsOf("big/model"));
        Assert.Equal(4, model.WeightsOf("other/model"));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => LatencyModel.Load(Write("typo.json", """{"gpu": {}}""")));
    }

    [Fact]
    public void The_synthetic_workload_is_reproducible_near_its_rate_and_bursty()
    {
        string[] models = ["u/a", "u/b", "u/c", "u/d"];
        var workload = new SyntheticWorkload { Rate = 20, DurationSeconds = 600, Seed = 3 };
        var requests = workload.Generate(models);
        Assert.Equal(requests, workload.Generate(models));
        Assert.InRange(requests.Count, 20 * 600 * 0.7, 20 * 600 * 3); // bursts add load on top of the base rate
        Assert.True(requests.Zip(requests.Skip(1)).All(p => p.First.At <= p.Second.At), "sorted by time");
        Assert.All(requests, r => Assert.InRange(r.At, 0, 600));

        // Bursts: some 10 s window carries far more than the mean.
        var perWindow = requests.GroupBy(r => (int)(r.At / 10)).Select(g => g.Count()).ToArray();
        Assert.True(perWindow.Max() > 2 * perWindow.Average(), $"busiest 10 s window {perWindow.Max()}, mean {perWindow.Average():F0}");
    }

    [Fact]
    public void A_trace_is_read_relative_to_its_start_and_bound_to_the_run_s_deployments()
    {
        var path = Write("trace.csv", """
            timestamp,model,prompt_tokens,output_tokens
            2026-12-01T10:00:05Z,model-1,100,20
            2026-12-01T10:00:02Z,u/model-0,50,10
            """);
        var bound = TraceWorkload.Bind(TraceWorkload.Read(path), ["u/model-0", "u/model-1"]);
        Assert.Equal([new WorkloadRequest(0, "u/model-0", 50, 10), new WorkloadRequest(3, "u/model-1", 100, 20)], bound);
        Assert.Throws<InvalidDataException>(() => TraceWorkload.Bind(TraceWorkload.Read(path), ["u/model-0"]));
    }

    [Theory]
    [InlineData("time,model,prompt_tokens,output_tokens\n1,m,1,1", ":1:")]
    [InlineData("timestamp,model,prompt_tokens,output_tokens\n1,m,1,1\n2,m,-3,1", ":3:")]
    [InlineData("timestamp,model,prompt_tokens,output_tokens\nsoon,m,1,1", "timestamp 'soon'")]
    [InlineData("timestamp,model,prompt_tokens,output_tokens\n1,m,1", ":2:")]
    public void A_bad_trace_line_is_refused_with_its_number(string text, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => TraceWorkload.Read(Write("bad.csv", text)));
        Assert.Contains(expected, error.Message);
    }
}
