using System.Diagnostics;
using Microsoft.Playwright;

namespace Mlops.Dashboard.Tests;

/// <summary>
/// Gets the browser tests a chromium on any machine, so <c>dotnet test</c> needs only .NET and Node.js. In order:
/// <list type="number">
/// <item>Playwright's own chromium, installed already or installable now (<c>playwright install chromium</c>: a
/// download from Playwright's CDN, skipped quickly where that is unreachable);</item>
/// <item>a chromium or Chrome already on the machine: on <c>PATH</c> or at the usual install paths;</item>
/// <item>Debian's <c>chromium</c> package, installed with apt-get (as root, or through <c>sudo -n</c>).</item>
/// </list>
/// Each candidate must actually launch to be chosen (a downloaded browser can lack system libraries). The choice is
/// written to the output and kept in <see cref="Used"/>.
/// <para><c>MLOPS_TEST_BROWSER</c> forces one step: <c>playwright</c>, <c>system</c>, <c>apt</c>, or the path of a
/// chromium-based browser's executable; unset or <c>auto</c> tries all three in order.</para>
/// </summary>
public static class BrowserSetup
{
    /// <summary>The environment variable that forces one way of getting the browser (see the class summary).</summary>
    public const string OverrideVariable = "MLOPS_TEST_BROWSER";

    /// <summary>Executable names looked up on <c>PATH</c>, most specific first.</summary>
    public static readonly IReadOnlyList<string> ExecutableNames =
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
        "chrome",
    ];

    /// <summary>Where chromium and Chrome install themselves when they are not on <c>PATH</c>.</summary>
    public static readonly IReadOnlyList<string> UsualPaths =
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/lib/chromium/chromium",
        "/snap/bin/chromium",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable",
        "/opt/google/chrome/chrome",
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        @"C:\Program Files\Google\Chrome\Application\chrome.exe",
        @"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
    ];

    // A stalled download must not hold the test run: Playwright gives up on a silent connection after this long
    // (its own default is 30 s per mirror). A download that makes progress is not cut short.
    private const string DownloadTimeoutVariable = "PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT";
    private const string DownloadTimeoutMilliseconds = "10000";
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ReachabilityTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How the browser in use was obtained and where it is, once <see cref="LaunchAsync"/> has
    /// succeeded.</summary>
    public static string? Used { get; private set; }

    private delegate Task<IBrowser?> Step(
        IPlaywright playwright,
        List<string> attempts,
        CancellationToken cancellationToken
    );

    /// <summary>Launches a headless chromium obtained as the class summary describes.</summary>
    /// <param name="playwright">The Playwright instance to launch with.</param>
    /// <param name="mode">A value of <c>MLOPS_TEST_BROWSER</c>; null reads the variable.</param>
    /// <param name="cancellationToken">Stops between steps and stops an apt-get install.</param>
    /// <exception cref="InvalidOperationException">No way gave a browser that launches; the message lists each
    /// attempt.</exception>
    public static async Task<IBrowser> LaunchAsync(
        IPlaywright playwright,
        string? mode = null,
        CancellationToken cancellationToken = default
    )
    {
        mode = (mode ?? Environment.GetEnvironmentVariable(OverrideVariable))?.Trim() is { Length: > 0 } set
            ? set
            : "auto";
        string forced = mode;
        var attempts = new List<string>();
        Step[] steps = mode.ToLowerInvariant() switch
        {
            "auto" => [PlaywrightOwnAsync, SystemAsync, AptAsync],
            "playwright" => [PlaywrightOwnAsync],
            "system" => [SystemAsync],
            "apt" => [AptAsync],
            _ => [(p, a, _) => ForcedPathAsync(p, forced, a)],
        };
        foreach (var step in steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var browser = await step(playwright, attempts, cancellationToken);
            if (browser is not null)
                return browser;
        }
        throw new InvalidOperationException(
            $"No chromium for the browser tests ({OverrideVariable}={mode}). Tried:\n  "
                + string.Join("\n  ", attempts)
                + $"\nInstall chromium or Chrome, or set {OverrideVariable} to a chromium-based browser's executable."
        );
    }

    /// <summary>
    /// The first chromium or Chrome on <paramref name="pathVariable"/> (a PATH value), else the first of
    /// <paramref name="usualPaths"/> that exists; null when there is none.
    /// </summary>
    public static string? FindSystemBrowser(string? pathVariable, IEnumerable<string> usualPaths)
    {
        var suffixes = OperatingSystem.IsWindows() ? new[] { ".exe", "" } : [""];
        var onPath = (pathVariable ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir =>
                ExecutableNames.SelectMany(name => suffixes.Select(suffix => Path.Combine(dir, name + suffix)))
            );
        return onPath.Concat(usualPaths).FirstOrDefault(IsExecutableFile);
    }

    private static async Task<IBrowser?> PlaywrightOwnAsync(
        IPlaywright playwright,
        List<string> attempts,
        CancellationToken cancellationToken
    )
    {
        // Where the download is unreachable, Playwright tries each mirror five times before it gives up (a minute
        // here): a connection test of a few seconds says as much, unless the browser is on disk already.
        if (
            !File.Exists(playwright.Chromium.ExecutablePath)
            && await FirstReachableDownloadHostAsync(cancellationToken) is null
        )
        {
            attempts.Add(
                $"Playwright's chromium: not installed, and its download ({string.Join(", ", DownloadHosts())}) is unreachable"
            );
            return null;
        }
        // "install" returns at once when the browser is there already, so it is also the "is it installed?" check.
        if (Environment.GetEnvironmentVariable(DownloadTimeoutVariable) is null)
            Environment.SetEnvironmentVariable(DownloadTimeoutVariable, DownloadTimeoutMilliseconds);
        var clock = Stopwatch.StartNew();
        int exitCode;
        try
        {
            exitCode = await Task.Run(
                () => Microsoft.Playwright.Program.Main(["install", "chromium"]),
                cancellationToken
            );
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            attempts.Add($"Playwright's chromium: install failed ({e.GetType().Name}: {e.Message})");
            return null;
        }
        if (exitCode != 0)
        {
            attempts.Add(
                $"Playwright's chromium: not installed, and `playwright install chromium` failed (exit {exitCode}, "
                    + $"{clock.Elapsed.TotalSeconds:F1} s; its download is unreachable from here?)"
            );
            return null;
        }
        return await TryLaunchAsync(
            playwright,
            null,
            $"Playwright's own chromium ({playwright.Chromium.ExecutablePath})",
            attempts
        );
    }

    /// <summary>Playwright's download hosts (its CDN mirrors, or the one <c>PLAYWRIGHT_DOWNLOAD_HOST</c>
    /// names).</summary>
    private static string[] DownloadHosts() =>
        Environment.GetEnvironmentVariable("PLAYWRIGHT_DOWNLOAD_HOST") is { Length: > 0 } custom
            ? [Uri.TryCreate(custom, UriKind.Absolute, out var uri) ? uri.Host : custom]
            : ["cdn.playwright.dev", "playwright.download.prss.microsoft.com"];

    /// <summary>The first download host a TCP connection to port 443 reaches within a few seconds; null if none
    /// does.</summary>
    private static async Task<string?> FirstReachableDownloadHostAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReachabilityTimeout);
        var probes = DownloadHosts()
            .Select(async host =>
            {
                try
                {
                    using var client = new System.Net.Sockets.TcpClient();
                    await client.ConnectAsync(host, 443, timeout.Token);
                    return host;
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    return null;
                }
            });
        var reached = await Task.WhenAll(probes);
        cancellationToken.ThrowIfCancellationRequested();
        return reached.FirstOrDefault(h => h is not null);
    }

    private static async Task<IBrowser?> SystemAsync(
        IPlaywright playwright,
        List<string> attempts,
        CancellationToken cancellationToken
    )
    {
        string? path = FindSystemBrowser(Environment.GetEnvironmentVariable("PATH"), UsualPaths);
        if (path is null)
        {
            attempts.Add($"system browser: none of {string.Join(", ", ExecutableNames)} on PATH or at the usual paths");
            return null;
        }
        return await TryLaunchAsync(playwright, path, $"the system's browser at {path}", attempts);
    }

    private static async Task<IBrowser?> AptAsync(
        IPlaywright playwright,
        List<string> attempts,
        CancellationToken cancellationToken
    )
    {
        if (!OperatingSystem.IsLinux() || !IsExecutableFile("/usr/bin/apt-get"))
        {
            attempts.Add("apt-get: not a Debian-like Linux (no /usr/bin/apt-get)");
            return null;
        }
        string[] elevate;
        if (IsRoot())
            elevate = [];
        else if (FindOnPath("sudo") is { } sudo)
            elevate = [sudo, "-n"];
        else
        {
            attempts.Add("apt-get: not root, and no sudo to install chromium with");
            return null;
        }

        Console.WriteLine("browser setup: installing Debian's chromium with apt-get (a minute or two)...");
        var clock = Stopwatch.StartNew();
        // A stale package list is the usual reason a first install fails: refresh it and try once more.
        var (installed, output) = await AptGetAsync(
            elevate,
            ["install", "-y", "-qq", "--no-install-recommends", "chromium"],
            cancellationToken
        );
        if (!installed)
        {
            await AptGetAsync(elevate, ["update", "-qq"], cancellationToken);
            (installed, output) = await AptGetAsync(
                elevate,
                ["install", "-y", "-qq", "--no-install-recommends", "chromium"],
                cancellationToken
            );
        }
        if (!installed)
        {
            attempts.Add($"apt-get install chromium failed: {LastLines(output, 5)}");
            return null;
        }
        string? path = FindSystemBrowser(Environment.GetEnvironmentVariable("PATH"), UsualPaths);
        if (path is null)
        {
            attempts.Add("apt-get installed chromium, but no chromium executable was found afterwards");
            return null;
        }
        string description =
            $"Debian's chromium at {path}, installed now with apt-get ({clock.Elapsed.TotalSeconds:F0} s)";
        return await TryLaunchAsync(playwright, path, description, attempts);
    }

    private static async Task<IBrowser?> ForcedPathAsync(IPlaywright playwright, string path, List<string> attempts)
    {
        if (!IsExecutableFile(path))
        {
            attempts.Add(
                $"{path}: no executable file there ({OverrideVariable} names a browser's executable, or playwright, system, apt, auto)"
            );
            return null;
        }
        return await TryLaunchAsync(playwright, path, $"{path} (from {OverrideVariable})", attempts);
    }

    private static async Task<IBrowser?> TryLaunchAsync(
        IPlaywright playwright,
        string? executablePath,
        string description,
        List<string> attempts
    )
    {
        try
        {
            // --no-sandbox: the tests run as root in containers, where chromium's sandbox cannot start.
            var browser = await playwright.Chromium.LaunchAsync(
                new()
                {
                    ExecutablePath = executablePath,
                    Headless = true,
                    Args = ["--no-sandbox"],
                }
            );
            Used = $"{description}, version {browser.Version}";
            string line = $"browser setup: using {Used}";
            if (attempts.Count > 0)
                line += " (after: " + string.Join("; ", attempts) + ")";
            Console.WriteLine(line);
            return browser;
        }
        catch (PlaywrightException e)
        {
            attempts.Add($"{description}: did not launch ({FirstLine(e.Message)})");
            return null;
        }
    }

    private static async Task<(bool Succeeded, string Output)> AptGetAsync(
        string[] elevate,
        string[] arguments,
        CancellationToken cancellationToken
    )
    {
        var start = new ProcessStartInfo(elevate.Length > 0 ? elevate[0] : "/usr/bin/apt-get")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in elevate.Skip(1))
            start.ArgumentList.Add(argument);
        if (elevate.Length > 0)
            start.ArgumentList.Add("/usr/bin/apt-get");
        // Wait for a dpkg lock held by another install instead of failing at once.
        start.ArgumentList.Add("-o");
        start.ArgumentList.Add("DPkg::Lock::Timeout=120");
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AptTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (false, $"apt-get {string.Join(' ', arguments)} took over {AptTimeout.TotalMinutes} minutes");
        }
        return (process.ExitCode == 0, await stdout + await stderr);
    }

    // The effective user id (the second number of /proc's "Uid:" line: real, effective, saved, filesystem).
    private static bool IsRoot() =>
        File.Exists("/proc/self/status")
        && File.ReadLines("/proc/self/status")
            .FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            ?.Split('\t', StringSplitOptions.RemoveEmptyEntries)
            .ElementAtOrDefault(2) == "0";

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(IsExecutableFile);

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
            return false;
        if (OperatingSystem.IsWindows())
            return true;
        return (
                File.GetUnixFileMode(path)
                & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)
            ) != 0;
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static string LastLines(string text, int count) =>
        string.Join(
            " | ",
            text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(count).Select(l => l.Trim())
        );
}
