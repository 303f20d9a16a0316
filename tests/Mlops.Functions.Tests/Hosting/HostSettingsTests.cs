using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Mlops.Functions.Hosting;
using Xunit;

namespace Mlops.Functions.Tests.Hosting;

public sealed class HostSettingsTests
{
    private static HostSettings From(params (string Key, string Value)[] values) =>
        HostSettings.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void FromConfiguration_Defaults_AreTheLocalEmulatorOn7071()
    {
        var s = From();
        Assert.Equal(7071, s.HttpPort);
        Assert.Equal("UseDevelopmentStorage=true", s.StorageConnectionString);
        Assert.True(s.EmbeddedStorage);
        Assert.False(s.RunsUnderFunctionsHost);
    }

    [Fact]
    public void FromConfiguration_RealAccountOrFunctionsHost_StartsNoAzurite()
    {
        Assert.False(From(("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5;EndpointSuffix=core.windows.net")).EmbeddedStorage);
        var underHost = From(("FUNCTIONS_WORKER_RUNTIME", "dotnet-isolated"));
        Assert.True(underHost.RunsUnderFunctionsHost);
        Assert.False(underHost.EmbeddedStorage);
    }

    [Theory]
    [InlineData("MLOPS_HTTP_PORT", "seventy", "MLOPS_HTTP_PORT")]
    [InlineData("MLOPS_HTTP_PORT", "70000", "MLOPS_HTTP_PORT")]
    [InlineData("RETRAIN_SCHEDULE", "0 2 * * *", "RETRAIN_SCHEDULE")]
    public void FromConfiguration_BadValue_FailsNamingTheSetting(string key, string value, string named)
    {
        var e = Assert.Throws<InvalidOperationException>(() => From((key, value)));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void EnsurePortsFree_PortTaken_NamesThePortAndWhatNeedsIt()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            var e = Assert.Throws<PortInUseException>(() => LocalAzurite.EnsurePortsFree([(port, "function host HTTP")]));
            Assert.Contains(port.ToString(), e.Message);
            Assert.Contains("function host HTTP", e.Message);
        }
        finally { listener.Stop(); }
        LocalAzurite.EnsurePortsFree([(port, "function host HTTP")]); // free again: no exception
    }
}
