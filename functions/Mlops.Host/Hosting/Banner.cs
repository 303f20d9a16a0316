using Mlops.Host.Http;

namespace Mlops.Host.Hosting;

/// <summary>The start-up banner.</summary>
public static class Banner
{
    /// <summary>
    /// True for the storage emulator's account (Azurite): the only account whose keys the banner and the demo may
    /// print. The account name alone does not decide: <c>devstoreaccount1</c> is a valid name for a real account too,
    /// so the blob endpoint must also be on this machine.
    /// </summary>
    public static bool IsEmulator(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var parts = connectionString
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.OrdinalIgnoreCase);
        if (
            parts.TryGetValue("UseDevelopmentStorage", out var development)
            && development.Equals("true", StringComparison.OrdinalIgnoreCase)
        )
            return true;
        return parts.TryGetValue("AccountName", out var account)
            && account == "devstoreaccount1"
            && parts.TryGetValue("BlobEndpoint", out var endpoint)
            && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            && uri.IsLoopback;
    }

    /// <summary>
    /// The address, the dashboard link and the keys. Keys appear only for the emulator: on a real account the console
    /// ends up in logs, so the banner says where the keys are instead.
    /// </summary>
    public static string Text(LocalFunctionsHost host, bool emulator)
    {
        string baseUrl = host.BaseAddress.ToString().TrimEnd('/');
        string keys = emulator
            ? $"""
                Function key:  {host.FunctionKey}
                  Master key:    {host.MasterKey}
                """
            : $"Keys:          MLOPS_FUNCTION_KEY / MLOPS_MASTER_KEY, or {HostKeys.SecretsContainer}/{HostKeys.HostSecretsPath(host.Context.HostId)} in the storage account";
        string dashboard = emulator
            ? $"{baseUrl}/?code={Uri.EscapeDataString(host.FunctionKey)}"
            : $"{baseUrl}/  (sign in with the function key)";
        return $"""

            Functions host running on {baseUrl}  ({host.Functions.Count} functions; Ctrl-C stops it)
              Dashboard:     {dashboard}
              {keys}
              Storage:       {(emulator ? "the storage emulator (Azurite, devstoreaccount1)" : "AzureWebJobsStorage")}
              Worker:        pid {host.Worker.WorkerProcessId}, ready in {host.Worker.LastStartToReady.TotalSeconds:0.0} s
            """;
    }
}
