using System.Runtime.InteropServices;

namespace Mlops.ML.MlNet;

/// <summary>
/// Native LightGBM runs on OpenMP, whose threads spin-wait at every barrier by default. On a machine shared with other
/// work (a Functions instance, a CI runner, several sweep trials) a spinning thread keeps its core while the thread it
/// waits for is descheduled: measured on this 2-core machine at load average 18, synth_100k training took 28 s with
/// spinning and 2.6 s with passive waiting (the same model). So, unless the user chose a policy, the process asks
/// OpenMP for passive waiting before LightGBM's native library (and with it OpenMP) is loaded — OpenMP reads the
/// setting once, at load.
/// </summary>
internal static partial class OpenMpWaitPolicy
{
    private const string Variable = "OMP_WAIT_POLICY";
    private static int _applied;

    public static void EnsurePassive()
    {
        if (Interlocked.Exchange(ref _applied, 1) == 1)
            return;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
            return;
        // On Unix .NET keeps its own copy of the environment; native code reads the C library's, so set both.
        Environment.SetEnvironmentVariable(Variable, "PASSIVE");
        if (!OperatingSystem.IsWindows())
            SetEnv(Variable, "PASSIVE", 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
