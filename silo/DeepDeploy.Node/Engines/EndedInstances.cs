namespace DeepDeploy.Node.Engines;

/// <summary>The last ended instances, kept for their output: a crash's last words are what a user needs.</summary>
public sealed class EndedInstances
{
    const int Kept = 32;

    readonly Queue<EngineInstance> _ended = new();

    public void Remember(EngineInstance instance)
    {
        lock (_ended)
        {
            _ended.Enqueue(instance);
            while (_ended.Count > Kept)
            {
                _ended.Dequeue();
            }
        }
    }

    public IReadOnlyList<EngineInstance> Of(string deployId)
    {
        lock (_ended)
        {
            return _ended.Where(i => i.Launch.DeployId == deployId).ToArray();
        }
    }
}
