using LLama.Native;

namespace DeepDeploy.GpuWorker.Engine;

/// <summary>Routes llama.cpp's native log to stderr, warnings and errors only. Call before any native call.</summary>
public static class NativeLogging
{
    static LLamaLogLevel _last = LLamaLogLevel.Info;

    public static void Configure()
    {
        NativeLibraryConfig.All.WithLogCallback(static (level, message) =>
        {
            if (level == LLamaLogLevel.Continue)
            {
                level = _last;
            }
            else
            {
                _last = level;
            }

            if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
            {
                Console.Error.Write(message);
            }
        });
    }
}
