using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mlops.Host.Hosting;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>Which worker log lines the host prints, from host.json's logging.logLevel.</summary>
public sealed class WorkerLogFilterTests
{
    [Fact]
    public void FromHostJson_AppsHostJson_WorkersKestrelLinesBelowWarningDropped()
    {
        var hostJson = JsonDocument
            .Parse(File.ReadAllText(Path.Combine(AzuriteInstance.RepoRoot(), "host.json")))
            .RootElement;

        var filter = WorkerLogFilter.FromHostJson(hostJson);

        Assert.False(filter.IsEnabled("Microsoft.AspNetCore.Routing.EndpointMiddleware", LogLevel.Information));
        Assert.True(filter.IsEnabled("Microsoft.AspNetCore.Routing.EndpointMiddleware", LogLevel.Warning));
        Assert.True(filter.IsEnabled("Mlops.Functions.Pipelines", LogLevel.Information));
        Assert.False(filter.IsEnabled("DurableTask.Core.TaskOrchestrationDispatcher", LogLevel.Information));
    }

    [Theory]
    [InlineData("""{"version":"2.0"}""", "Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Information, true)]
    [InlineData("""{"version":"2.0"}""", "Any", LogLevel.Debug, false)]
    [InlineData("""{"logging":{"logLevel":{"default":"Warning"}}}""", "Any", LogLevel.Information, false)]
    [InlineData(
        """{"logging":{"logLevel":{"Microsoft":"None","Microsoft.AspNetCore":"Debug"}}}""",
        "Microsoft.AspNetCore.X",
        LogLevel.Debug,
        true
    )]
    [InlineData(
        """{"logging":{"logLevel":{"Microsoft":"None","Microsoft.AspNetCore":"Debug"}}}""",
        "Microsoft.Extensions.Y",
        LogLevel.Critical,
        false
    )]
    [InlineData(
        """{"logging":{"logLevel":{"Microsoft.Asp":"None"}}}""",
        "Microsoft.AspNetCore.X",
        LogLevel.Information,
        true
    )]
    public void IsEnabled_LongestWholeSegmentPrefixWins(
        string hostJson,
        string category,
        LogLevel level,
        bool expected
    ) =>
        Assert.Equal(
            expected,
            WorkerLogFilter.FromHostJson(JsonDocument.Parse(hostJson).RootElement).IsEnabled(category, level)
        );

    [Fact]
    public void FromHostJson_UnknownLevel_ThrowsNamingTheCategory()
    {
        var hostJson = JsonDocument.Parse("""{"logging":{"logLevel":{"Function":"Loud"}}}""").RootElement;

        var error = Assert.Throws<InvalidOperationException>(() => WorkerLogFilter.FromHostJson(hostJson));

        Assert.Contains("logging.logLevel.Function", error.Message);
    }
}
