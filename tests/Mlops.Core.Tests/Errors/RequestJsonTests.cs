using System.Text;
using Mlops.Core.Errors;
using Xunit;

namespace Mlops.Core.Tests.Errors;

public sealed class RequestJsonTests
{
    public sealed record Body(int Version, double? Rate = null, string? Reason = null);

    private static MlopsException Rejects(byte[] utf8)
    {
        var e = Assert.Throws<MlopsException>(() => RequestJson.Parse<Body>(utf8, "test"));
        Assert.Equal(400, e.Status);
        Assert.Equal(RequestJson.InvalidBodyCode, e.Code);
        return e;
    }

    private static MlopsException Rejects(string json) => Rejects(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_ValidBody_Reads()
    {
        var body = RequestJson.Parse<Body>("""{"version":2,"rate":0.25,"reason":"ok \u00e9"}"""u8, "test")!;
        Assert.Equal(new Body(2, 0.25, "ok é"), body);
        Assert.Equal(1e300, RequestJson.Parse<Body>("""{"version":1,"rate":1E300}"""u8, "test")!.Rate);
    }

    [Theory]
    [InlineData("""{"version":1,"rate":1e400}""")]
    [InlineData("""{"version":1,"rate":-1e400}""")]
    [InlineData("""{"version":1,"rate":"Infinity"}""")]
    [InlineData("""{"version":1,"rate":"NaN"}""")]
    public void Parse_NonFiniteNumber_400(string json) => Rejects(json);

    [Fact]
    public void Parse_FiveThousandDigitNumber_400NamingTheLength()
    {
        var e = Rejects("{\"version\":1,\"rate\":" + new string('7', 5000) + "}");
        Assert.Contains("5000 characters", e.Message);
    }

    [Fact]
    public void Parse_UnknownKey_400NamingIt()
    {
        var e = Rejects("""{"version":1,"isAdmin":true}""");
        Assert.Contains("isAdmin", e.Message);
    }

    [Theory]
    [InlineData("""{"version":1,"reason":"\ud800"}""")]
    [InlineData("""{"\ud800":1}""")]
    [InlineData("""{"version":"x"}""")]
    [InlineData("""{"version":1""")]
    [InlineData("[1,2]")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("   ")]
    public void Parse_BadBody_400(string json) => Rejects(json);

    [Fact]
    public void Parse_RawInvalidUtf8_400()
    {
        Rejects([0xFF, 0xFE, (byte)'{', (byte)'}']);
        Rejects([.. "{\"reason\":\""u8, 0xFF, 0xFE, .. "\",\"version\":1}"u8]);
        Rejects([.. "{\""u8, 0xC3, .. "\":1}"u8]);
    }

    [Fact]
    public void Parse_DeepNesting_400()
    {
        Rejects("{\"reason\":" + new string('[', 100) + new string(']', 100) + "}");
    }

    [Fact]
    public void Parse_EmptyOptionalBody_Null()
    {
        Assert.Null(RequestJson.Parse<Body>(""u8, "test", optional: true));
    }

    [Fact]
    public async Task ReadAsync_TooLarge_413()
    {
        var e = await Assert.ThrowsAsync<MlopsException>(() =>
            RequestJson.ReadAsync<Body>(new MemoryStream(new byte[2048]), "test", maxBytes: 1024)
        );
        Assert.Equal(413, e.Status);
    }
}
