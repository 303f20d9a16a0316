using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Registry;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary>Hostile and clumsy predict input: every one a 4xx naming the problem, none counted against a version's
/// health.</summary>
public sealed class PredictHardeningTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private ServingHost Host => fixture.Host;

    private Task<string> SetUpModelAsync(int versions) => fixture.ConstantModelAsync("h", versions);

    private static (string Code, string Message, JsonElement Details) Error(JsonElement body)
    {
        var e = body.GetProperty("error");
        return (
            e.GetProperty("code").GetString()!,
            e.GetProperty("message").GetString()!,
            e.TryGetProperty("details", out var d) ? d : default
        );
    }

    [Fact]
    public async Task Predict_LoneSurrogateValue_400NamingColumn_CanaryNotRolledBack()
    {
        string model = await SetUpModelAsync(2);
        await Host.Client.PutAsJsonAsync(
            $"/api/models/{model}/traffic",
            new
            {
                routes = new[] { new { version = 1, weight = 50 }, new { version = 2, weight = 50 } },
                autoRollback = new
                {
                    maxErrorRate = 0.2,
                    minRequests = 10,
                    windowSeconds = 60,
                },
            }
        );
        long serverErrors = Host.Runtime.Metrics.ServerErrors.Value;

        for (int i = 0; i < 25; i++)
        {
            var (status, body) = await Host.PredictAsync(
                model,
                """{"rows":[{"x":1,"color":"\ud800"}]}""",
                key: $"user-{i}"
            );
            Assert.Equal(400, status);
            var (code, message, details) = Error(body);
            Assert.Equal("serving.invalid_input", code);
            Assert.Contains("color", message);
            Assert.Equal("color", details[0].GetProperty("column").GetString());
        }
        await Host.App.Services.GetRequiredService<ServingBackgroundService>().CheckCanariesAsync();

        Assert.Equal(serverErrors, Host.Runtime.Metrics.ServerErrors.Value);
        var registry = fixture.NewRegistry();
        Assert.NotNull((await registry.GetStateAsync(model)).Traffic); // the canary is still routed
        Assert.DoesNotContain(await registry.GetHistoryAsync(model), h => h.Kind == ChangeKind.AutoRollback);
    }

    public static TheoryData<string, byte[]> BadBodies =>
        new()
        {
            { "surrogate property name", Encoding.UTF8.GetBytes("""{"rows":[{"\ud800":1,"x":1,"color":"r"}]}""") },
            {
                "raw FF FE in a property name",
                [.. """{"rows":[{"""u8, (byte)'"', 0xFF, 0xFE, (byte)'"', .. """:1,"x":1,"color":"r"}]}"""u8]
            },
            {
                "raw FF FE in a value",
                [.. """{"rows":[{"x":1,"color":"""u8, (byte)'"', 0xFF, 0xFE, (byte)'"', .. "}]}"u8]
            },
            { "raw FF FE before the body", [0xFF, 0xFE, .. """{"rows":[{"x":1,"color":"r"}]}"""u8] },
            {
                "surrogate request key",
                Encoding.UTF8.GetBytes("""{"requestKey":"\udc00","rows":[{"x":1,"color":"r"}]}""")
            },
            { "1e400", Encoding.UTF8.GetBytes("""{"rows":[{"x":1e400,"color":"r"}]}""") },
            { "-1e400", Encoding.UTF8.GetBytes("""{"rows":[{"x":-1e400,"color":"r"}]}""") },
            {
                "5000 digits",
                Encoding.UTF8.GetBytes("{\"rows\":[{\"x\":" + new string('9', 5000) + ",\"color\":\"r\"}]}")
            },
            {
                "5000-digit code",
                Encoding.UTF8.GetBytes("{\"rows\":[{\"x\":1,\"color\":" + new string('9', 5000) + "}]}")
            },
        };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Predict_InvalidTextOrNumbers_400NotServerError(string what, byte[] body)
    {
        string model = await SetUpModelAsync(1);
        long serverErrors = Host.Runtime.Metrics.ServerErrors.Value;

        var (status, answer) = await Host.PredictBytesAsync(model, body);

        Assert.True(status == 400, $"{what}: {status} {answer}");
        Assert.StartsWith("serving.", Error(answer).Code);
        Assert.Equal(serverErrors, Host.Runtime.Metrics.ServerErrors.Value);
    }

    [Fact]
    public async Task Predict_OutOfRangeNumber_NamesColumn()
    {
        string model = await SetUpModelAsync(1);
        var (status, body) = await Host.PredictAsync(model, """{"rows":[{"x":1e400,"color":"r"}]}""");
        Assert.Equal(400, status);
        Assert.Equal("x", Error(body).Details[0].GetProperty("column").GetString());
    }

    [Theory]
    [InlineData(0)] // the fixture's setting: no negative caching
    [InlineData(300)] // negative caching on, capped at 100 names
    public async Task GetRouter_ManyRandomUnknownModels_CacheStaysBounded(int cacheSeconds)
    {
        await using var host = await ServingHost.StartAsync(fixture.Azurite.ConnectionString, o =>
        {
            o.UnknownModelCacheTime = TimeSpan.FromSeconds(cacheSeconds);
            o.UnknownModelCacheSize = 100;
        });
        var random = new Random(1234);
        for (int i = 0; i < 2000; i++)
            Assert.Null(
                await host.Runtime.GetRouterAsync("nx-" + random.NextInt64().ToString("x"), CancellationToken.None)
            );

        Assert.True(
            host.Runtime.CachedModelCount <= 100,
            $"{host.Runtime.CachedModelCount} cache entries after 2000 unknown names"
        );
        Assert.Equal(404, (await host.PredictAsync("nx-unknown", """{"rows":[{"x":1}]}""")).Status);
    }
}
