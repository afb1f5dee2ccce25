using DeepDeploy.Silo.Hosting;

await DeepDeployHost.Build(args).RunAsync();
