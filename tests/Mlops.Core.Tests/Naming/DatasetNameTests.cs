using Mlops.Core.Errors;
using Mlops.Core.Naming;
using Xunit;

namespace Mlops.Core.Tests.Naming;

public sealed class DatasetNameTests
{
    [Theory]
    [InlineData("abc")]
    [InlineData("churn")]
    [InlineData("breast-cancer")]
    [InlineData("a1-b2-c3")]
    [InlineData("123")]
    public void Parse_ValidName_KeepsIt(string name)
    {
        Assert.Equal(name, DatasetName.Parse(name).Value);
        Assert.True(DatasetName.IsValid(name));
    }

    [Theory]
    [InlineData("bc.")]
    [InlineData("bc")]
    [InlineData("Churn")]
    [InlineData("my_data")]
    [InlineData("-abc")]
    [InlineData("abc-")]
    [InlineData("a--b")]
    [InlineData("..")]
    [InlineData("a/b/c")]
    [InlineData("%2e%2e")]
    [InlineData("abc\u0000")]
    [InlineData("\ud800abc")]
    [InlineData("")]
    [InlineData(null)]
    public void Parse_InvalidName_Throws400StatingTheRule(string? name)
    {
        var e = Assert.Throws<MlopsException>(() => DatasetName.Parse(name));
        Assert.Equal(400, e.Status);
        Assert.Equal(DatasetName.InvalidCode, e.Code);
        Assert.Contains(DatasetName.Rule, e.Message);
        Assert.False(DatasetName.TryParse(name, out _));
    }

    [Fact]
    public void Parse_TooLong_Rejected()
    {
        Assert.True(DatasetName.IsValid(new string('a', 63)));
        Assert.False(DatasetName.IsValid(new string('a', 64)));
    }

    [Fact]
    public void TryParse_Invalid_SaysWhy()
    {
        Assert.False(DatasetName.TryParse("a--b", out _, out string? why));
        Assert.Contains("--", why);
    }

    [Fact]
    public void Default_Value_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => default(DatasetName).Value);
    }
}
