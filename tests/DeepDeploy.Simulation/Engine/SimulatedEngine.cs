namespace DeepDeploy.Simulation.Engine;

/// <summary>
/// TEST DOUBLE for one engine process on a GPU (the gpu-worker or vLLM): it takes up to max_batch_size requests at
/// once and refuses more ("busy", as the real worker does), and answers after the time the
/// <see cref="LatencyModel"/> gives: prefill of the prompt, then decode of the output at the per-sequence rate of
/// the batch as it is when the request starts. Stopping it cuts the answers in progress.
/// </summary>
public sealed class SimulatedEngine(string instanceId, string deployId, int numGpus, int maxBatchSize, GpuProfile profile, SimClock clock)
{
    readonly object _lock = new();
    readonly CancellationTokenSource _stopped = new();
    int _inFlight;

    public string InstanceId { get; } = instanceId;

    public string DeployId { get; } = deployId;

    public int NumGpus { get; } = numGpus;

    public int MaxBatchSize { get; } = maxBatchSize;

    /// <summary>Simulated time the node launched it (GPUs held from here).</summary>
    public double LaunchedAt { get; } = clock.Now;

    /// <summary>The most requests it ever held at once.</summary>
    public int PeakInFlight { get; private set; }

    /// <summary>Requests it refused because its batch was full.</summary>
    public int Busy { get; private set; }

    public bool Serving { get; private set; }

    /// <summary>Simulated time it began serving and stopped (null: still running).</summary>
    public double? ServingSince { get; private set; }

    public double? StoppedAt { get; private set; }

    /// <summary>Simulated time the deployment had been told it runs (its answer came back), and that it exited.
    /// Billing opens and closes between these and <see cref="ServingSince"/> and <see cref="StoppedAt"/>.</summary>
    public double? RunningReported { get; set; }

    public double? ExitReported { get; set; }

    public void Start()
    {
        lock (_lock)
        {
            Serving = !_stopped.IsCancellationRequested;
            ServingSince ??= clock.Now;
        }
    }

    public void Stop()
    {
        lock (_lock)
        {
            Serving = false;
            StoppedAt ??= clock.Now;
        }

        _stopped.Cancel();
    }

    public async Task<EngineAnswer> ServeAsync(int promptTokens, int outputTokens)
    {
        int batch;
        lock (_lock)
        {
            if (!Serving)
            {
                return new EngineAnswer(_stopped.IsCancellationRequested ? "stopped" : "loading", false, 0, 0);
            }

            if (_inFlight >= MaxBatchSize)
            {
                Busy++;
                return new EngineAnswer("busy", false, 0, 0);
            }

            batch = ++_inFlight;
            PeakInFlight = Math.Max(PeakInFlight, batch);
        }

        var prefill = promptTokens / profile.PrefillTokensPerSecond;
        var decode = Math.Max(0, outputTokens - 1) / profile.DecodePerSequence(batch);
        try
        {
            await Task.Delay(clock.Real(prefill + decode), _stopped.Token);
            return new EngineAnswer(null, false, prefill, prefill + decode);
        }
        catch (OperationCanceledException)
        {
            return new EngineAnswer(null, true, prefill, prefill + decode);
        }
        finally
        {
            lock (_lock)
            {
                _inFlight--;
            }
        }
    }
}
