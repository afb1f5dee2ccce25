namespace DeepDeploy.Simulation;

/// <summary>The cluster at one moment (simulated seconds from the workload's start).</summary>
/// <param name="StrandedShare">Free GPUs on partly used nodes, as a share of all free GPUs: placement fragmentation
/// (such GPUs cannot take an instance as large as a node).</param>
public sealed record Sample(double At, int ServingInstances, int AllocatedGpus, int FreeGpus, int FreeNodes, double StrandedShare, int InFlight, int Waiting);
