namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>A scorer and how much its score counts in a <see cref="ScoringPicker"/>.</summary>
public readonly record struct WeightedScorer(IInstanceScorer Scorer, double Weight);
