namespace DeepDeploy.Silo.Hosting;

/// <summary>A setting a process cannot start with; the message says which and what to set.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
