using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Mlops.Dashboard.Tests;

/// <summary>How the browser tests find their browser: the PATH and usual-path lookup, and a forced path that is
/// wrong.</summary>
public sealed class BrowserSetupTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("browser-setup-").FullName;

    [Fact]
    public void FindSystemBrowser_ChromiumOnPath_ReturnsItBeforeAnyUsualPath()
    {
        string onPath = Executable("bin/chromium");
        string usual = Executable("opt/chrome/chrome");

        string path = $"{Path.Combine(directory, "empty")}{Path.PathSeparator}{Path.GetDirectoryName(onPath)}";

        string? found = BrowserSetup.FindSystemBrowser(path, [usual]);

        Assert.Equal(onPath, found);
    }

    [Fact]
    public void FindSystemBrowser_NoneOnPath_ReturnsTheFirstUsualPathThatExists()
    {
        Executable("bin/node"); // something else on PATH
        string usual = Executable("opt/chrome/chrome");

        string? found = BrowserSetup.FindSystemBrowser(
            Path.Combine(directory, "bin"),
            [Path.Combine(directory, "missing/chromium"), usual]
        );

        Assert.Equal(usual, found);
    }

    [Fact]
    public void FindSystemBrowser_OnlyANonExecutableFile_ReturnsNull()
    {
        string notExecutable = Path.Combine(directory, "bin", "chromium");
        Directory.CreateDirectory(Path.GetDirectoryName(notExecutable)!);
        File.WriteAllText(notExecutable, "not a program");

        Assert.Null(BrowserSetup.FindSystemBrowser(Path.GetDirectoryName(notExecutable), [notExecutable]));
        Assert.Null(BrowserSetup.FindSystemBrowser(null, []));
    }

    [Fact]
    public async Task LaunchAsync_ForcedPathThatDoesNotExist_FailsNamingThePathAndTheSetting()
    {
        string missing = Path.Combine(directory, "no-such-browser");
        using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BrowserSetup.LaunchAsync(playwright, missing)
        );

        Assert.Contains(missing, error.Message);
        Assert.Contains(BrowserSetup.OverrideVariable, error.Message);
    }

    [Fact]
    public async Task LaunchAsync_ForcedPathThatIsNotABrowser_FailsSayingItDidNotLaunch()
    {
        string fake = Executable("bin/fake-chrome", "#!/bin/sh\necho 'not chromium' >&2\nexit 3\n");
        using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BrowserSetup.LaunchAsync(playwright, fake)
        );

        Assert.Contains($"{fake} (from {BrowserSetup.OverrideVariable}): did not launch", error.Message);
    }

    private string Executable(string relativePath, string content = "#!/bin/sh\nexit 0\n")
    {
        string path = Path.Combine(directory, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

/// <summary>
/// Says which browser the dashboard fixture uses, once per run, as an xUnit diagnostic message: <c>dotnet test</c>
/// prints those at its default verbosity (xunit.runner.json turns them on), where console output and a passing test's
/// output are hidden. Collection fixtures are ready before class fixtures are made, so the browser is known here.
/// </summary>
public sealed class BrowserReport
{
    public BrowserReport(IMessageSink diagnostics) =>
        diagnostics.OnMessage(new DiagnosticMessage($"browser setup: {BrowserSetup.Used ?? "no browser launched"}"));
}

/// <summary>The dashboard fixture's browser: launched, and where it came from is in the test output.</summary>
[Collection(DashboardCollection.Name)]
public sealed class FixtureBrowserTests(DashboardFixture dashboard, ITestOutputHelper output)
    : IClassFixture<BrowserReport>
{
    [Fact]
    public async Task Fixture_Browser_IsConnectedAndItsSourceIsReported()
    {
        output.WriteLine($"browser setup: {BrowserSetup.Used}");

        Assert.NotNull(BrowserSetup.Used);
        Assert.True(dashboard.Browser.IsConnected);
        var (page, errors) = await dashboard.NewPageAsync();
        await page.GotoAsync("about:blank");
        Assert.Equal(2, await page.EvaluateAsync<int>("() => 1 + 1"));
        Assert.Empty(errors);
    }
}
