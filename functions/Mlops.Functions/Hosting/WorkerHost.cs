namespace Mlops.Functions.Hosting;

/// <summary>
/// Tells whether this process was started by a Functions host. The host passes the worker its gRPC endpoint on the
/// command line — <c>--host/--port/--workerId/--requestId</c>, or the newer <c>--functions-uri/--functions-worker-id/
/// --functions-request-id</c> — and sets <c>FUNCTIONS_WORKER_RUNTIME</c>. The arguments are what the worker cannot run
/// without, so they decide; the environment variable alone (left over in a shell, say) does not.
/// </summary>
public static class WorkerHost
{
    /// <summary>What a person who runs the app directly is told (the process then exits with code 2).</summary>
    public const string NotUnderHostMessage =
        "Mlops.Functions is an Azure Functions worker: start it through a Functions host, e.g. "
        + "`dotnet run --project functions/Mlops.Host` from the repository root (or `func start` in functions/Mlops.Functions).";

    /// <summary>True when the arguments carry a host's gRPC endpoint and worker id (either form).</summary>
    /// <param name="args">The process arguments.</param>
    public static bool IsStartedByHost(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        bool legacy = HasValue(args, "--host") && HasValue(args, "--port") && HasValue(args, "--workerId");
        bool current = HasValue(args, "--functions-uri") && HasValue(args, "--functions-worker-id");
        return legacy || current;
    }

    private static bool HasValue(IReadOnlyList<string> args, string name)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a.Equals(name, StringComparison.OrdinalIgnoreCase))
                return i + 1 < args.Count
                    && !string.IsNullOrWhiteSpace(args[i + 1])
                    && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            if (a.StartsWith(name + "=", StringComparison.OrdinalIgnoreCase))
                return a.Length > name.Length + 1;
        }
        return false;
    }
}
