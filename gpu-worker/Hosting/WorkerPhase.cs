namespace DeepDeploy.GpuWorker.Hosting;

public enum WorkerPhase
{
    Loading,
    Ready,
    Draining,
    Failed,
}
