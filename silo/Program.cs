using DeepDeploy.Silo.Hosting;
using DeepDeploy.Silo.Storage;

if (args is [MigrateCommand.Name, ..])
{
    return await MigrateCommand.RunAsync(args[1..], Console.Out, Console.Error);
}

WebApplication app;
try
{
    app = DeepDeployHost.Build(args);
}
catch (ConfigurationException e)
{
    Console.Error.WriteLine($"deepdeploy: {e.Message}");
    return 2;
}

await app.RunAsync();
return 0;
