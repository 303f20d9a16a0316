using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Mlops.Functions.Hosting;
using Xunit;

namespace Mlops.Functions.Tests.Hosting;

/// <summary>The worker's Kestrel accepts whatever the Functions host in front of it lets through.</summary>
public sealed class WorkerRequestLimitsTests
{
    private static IConfiguration Settings(string? bodyLimit) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(
                new Dictionary<string, string?> { [WorkerRequestLimits.BodyLimitSetting] = bodyLimit }
            )
            .Build();

    [Theory]
    [InlineData(null, 100L * 1024 * 1024)]
    [InlineData("", 100L * 1024 * 1024)]
    [InlineData("not-a-number", 100L * 1024 * 1024)]
    [InlineData("-5", 100L * 1024 * 1024)]
    [InlineData("209715200", 209715200L)]
    public void Apply_BodyLimit_IsTheHostsLimit(string? setting, long expected)
    {
        var limits = new KestrelServerLimits();
        Assert.Equal(30_000_000L, limits.MaxRequestBodySize); // Kestrel's default, below the host's 100 MB: the 500 band

        WorkerRequestLimits.Apply(limits, Settings(setting));

        Assert.Equal(expected, limits.MaxRequestBodySize);
    }

    [Fact]
    public void Apply_LineAndHeaderRoom_AboveTheHostsLimitsForTheHeadersTheHopAdds()
    {
        var limits = new KestrelServerLimits();

        WorkerRequestLimits.Apply(limits, Settings(null));

        Assert.True(limits.MaxRequestLineSize >= 2 * 8 * 1024, $"{limits.MaxRequestLineSize}");
        Assert.True(limits.MaxRequestHeadersTotalSize >= 2 * 32 * 1024, $"{limits.MaxRequestHeadersTotalSize}");
    }
}
