using Mlops.Core.Errors;
using Xunit;

namespace Mlops.Core.Tests.Errors;

public sealed class RequestQueryTests
{
    [Fact]
    public void Time_IsoValue_ParsedAsUtcWhenNoOffset()
    {
        Assert.Equal(
            new DateTimeOffset(2026, 12, 1, 14, 0, 0, TimeSpan.Zero),
            RequestQuery.Time("at", "2026-12-01T14:00:00")
        );
        Assert.Null(RequestQuery.Time("at", null));
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("1e400")]
    [InlineData("")]
    public void Time_Bad_400NamingTheParameter(string value)
    {
        var e = Assert.Throws<MlopsException>(() => RequestQuery.Time("from", value));
        Assert.Equal((400, RequestQuery.InvalidCode), (e.Status, e.Code));
        Assert.Contains("?from=", e.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("99999999999")]
    [InlineData(null)]
    public void PositiveInt_Bad_400(string? value) =>
        Assert.Equal(
            RequestQuery.InvalidCode,
            Assert.Throws<MlopsException>(() => RequestQuery.PositiveInt("top", value)).Code
        );

    [Fact]
    public void OptionalPositiveInt_AbsentOrValid()
    {
        Assert.Null(RequestQuery.OptionalPositiveInt("top", null));
        Assert.Equal(7, RequestQuery.OptionalPositiveInt("top", "7"));
    }
}
