using Mlops.Host.Triggers;
using Xunit;

namespace Mlops.Host.Tests.Triggers;

public class BlobPathPatternTests
{
    [Fact]
    public void Match_ParameterizedPath_CapturesEachValue()
    {
        var pattern = BlobPathPattern.Parse("incoming/{dataset}/{name}.csv");

        var values = pattern.Match("incoming", "iris/2026-12-03.csv");

        Assert.NotNull(values);
        Assert.Equal("iris", values["dataset"]);
        Assert.Equal("2026-12-03", values["name"]);
        Assert.Equal(["dataset", "name"], pattern.ParameterNames);
    }

    [Fact]
    public void Match_SeveralSlashes_FirstParameterIsGreedyLikeTheHost()
    {
        var pattern = BlobPathPattern.Parse("incoming/{dataset}/{name}");

        var values = pattern.Match("incoming", "a/b/c.csv");

        // The host's capture is "(?<dataset>.*)/(?<name>.*)": the first group takes all but the last segment.
        Assert.Equal("a/b", values!["dataset"]);
        Assert.Equal("c.csv", values["name"]);
    }

    [Theory]
    [InlineData("other", "iris/x.csv")] // another container
    [InlineData("incoming", "iris/x.txt")] // the literal suffix differs
    [InlineData("incoming", "x.csv")] // no slash for {dataset}/
    [InlineData("incoming", "IRIS/X.CSV")] // blob names match with case: ".CSV" is not ".csv"
    public void Match_BlobOutsideThePattern_ReturnsNull(string container, string blob)
    {
        var pattern = BlobPathPattern.Parse("incoming/{dataset}/{name}.csv");

        Assert.Null(pattern.Match(container, blob));
    }

    [Fact]
    public void Match_ContainerNameInOtherCase_Matches()
    {
        var pattern = BlobPathPattern.Parse("incoming/{name}");

        Assert.Equal("a.csv", pattern.Match("INCOMING", "a.csv")!["name"]);
    }

    [Fact]
    public void Match_ContainerOnlyPath_MatchesEveryBlobWithNoValues()
    {
        var pattern = BlobPathPattern.Parse("incoming");

        var values = pattern.Match("incoming", "deep/down/file.bin");

        Assert.NotNull(values);
        Assert.Empty(values);
        Assert.Equal("", pattern.ListPrefix);
    }

    [Fact]
    public void Match_FixedBlobPath_MatchesOnlyThatBlob()
    {
        var pattern = BlobPathPattern.Parse("incoming/config.json");

        Assert.NotNull(pattern.Match("incoming", "config.json"));
        Assert.Null(pattern.Match("incoming", "config.json.bak"));
    }

    [Fact]
    public void Match_EscapedBraces_AreLiteral()
    {
        var pattern = BlobPathPattern.Parse("incoming/{{v1}}/{name}");

        Assert.Equal("a.csv", pattern.Match("incoming", "{v1}/a.csv")!["name"]);
        Assert.Null(pattern.Match("incoming", "v1/a.csv"));
        Assert.Equal("{v1}/", pattern.ListPrefix);
    }

    [Fact]
    public void Match_RegexCharactersInLiteral_AreLiteral()
    {
        var pattern = BlobPathPattern.Parse("incoming/a.b+c/{name}");

        Assert.NotNull(pattern.Match("incoming", "a.b+c/x"));
        Assert.Null(pattern.Match("incoming", "aXbbc/x"));
    }

    [Fact]
    public void ListPrefix_LiteralStart_IsTheTextBeforeTheFirstParameter()
    {
        Assert.Equal("uploads/", BlobPathPattern.Parse("data/uploads/{name}").ListPrefix);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("/blob", "format 'container/blob'")]
    [InlineData("incoming/", "format 'container/blob'")]
    [InlineData("{dataset}/x", "Container paths cannot contain")]
    [InlineData("In_Coming/x", "not a valid container name")]
    [InlineData("incoming/{name", "has no closing")]
    [InlineData("incoming/name}", "has no opening")]
    [InlineData("incoming/{a.b}", "is not a parameter name")]
    [InlineData("incoming/{name}/{name}", "appears twice")]
    public void Parse_InvalidPath_ThrowsWithTheReason(string path, string reason)
    {
        var error = Assert.Throws<FormatException>(() => BlobPathPattern.Parse(path));

        Assert.Contains(reason, error.Message);
    }
}
