using Mlops.Data.Profiling;
using Mlops.Data.Tabular;
using Xunit;

namespace Mlops.Data.Tests.Profiling;

public class DataProfilerTests
{
    [Fact]
    public void Profile_NumericColumn_ExactStatistics()
    {
        var t = new DataTable([
            Column.Numeric("x", [1, 2, 3, 4, double.NaN]),
            Column.Categorical("c", ["a", "b", "a", null, "a"]),
        ]);
        var p = DataProfiler.Profile(t);
        var x = p.Find("x")!;
        Assert.Equal(4, x.Count);
        Assert.Equal(1, x.Missing);
        Assert.Equal(0.2, x.MissingRate, 12);
        Assert.Equal(4, x.Distinct);
        Assert.Equal(1, x.Min);
        Assert.Equal(4, x.Max);
        Assert.Equal(2.5, x.Mean!.Value, 12);
        Assert.Equal(Math.Sqrt(1.25), x.Std!.Value, 12);
        Assert.Equal(2.5, x.Quantiles!.Single(q => q.Level == 0.5).Value, 12); // numpy.quantile([1,2,3,4], .5)
        Assert.Equal(1.75, x.Quantiles!.Single(q => q.Level == 0.25).Value, 12);
        Assert.Equal(4, x.Histogram!.Counts.Sum());
    }

    [Fact]
    public void Profile_CategoricalColumn_TopValuesWithFrequencies()
    {
        var t = new DataTable([Column.Categorical("c", ["a", "b", "a", null, "a"])]);
        var c = DataProfiler.Profile(t).Find("c")!;
        Assert.Equal(2, c.Distinct);
        Assert.Equal("a", c.TopValues![0].Value);
        Assert.Equal(3, c.TopValues[0].Count);
        Assert.Equal(0.75, c.TopValues[0].Frequency, 12);
        Assert.Null(c.Mean);
    }

    [Fact]
    public void Profile_Label_ClassDistribution()
    {
        var p = DataProfiler.Profile(TestData.Table(100, positiveShare: 0.3), "target");
        Assert.NotNull(p.LabelDistribution);
        Assert.Equal(0.3, p.LabelDistribution!.Classes.Single(c => c.Value == "1").Frequency, 12);
        Assert.Equal(0.7, p.LabelDistribution.Classes.Single(c => c.Value == "0").Frequency, 12);
    }

    [Fact]
    public void Profile_DuplicateRows_ShareCounted()
    {
        var t = new DataTable([Column.Numeric("x", [1, 1, 2, 1]), Column.Categorical("c", ["a", "a", "a", "b"])]);
        Assert.Equal(0.25, DataProfiler.Profile(t).DuplicateRowShare, 12);
    }

    [Fact]
    public void Profile_EmptyTable_NoException()
    {
        var p = DataProfiler.Profile(new DataTable([Column.Numeric("x", [])]));
        Assert.Equal(0, p.RowCount);
        Assert.Equal(0, p.Find("x")!.Count);
    }
}

public class SortDoublesTests
{
    [Theory]
    [InlineData(100)]
    [InlineData(50_000)]
    public void SortDoubles_MatchesArraySort(int n)
    {
        var rng = new Random(5);
        var a = Enumerable
            .Range(0, n)
            .Select(i =>
                (i % 7) switch
                {
                    0 => -rng.NextDouble() * 1e6,
                    1 => rng.NextDouble() * 1e-300,
                    2 => Math.Round(rng.NextDouble() * 10),
                    3 => i % 2 == 0 ? double.PositiveInfinity : double.NegativeInfinity,
                    4 => -0.0,
                    _ => TestData.Gauss(rng),
                }
            )
            .ToArray();
        var expected = (double[])a.Clone();
        Array.Sort(expected);
        Mlops.Data.Profiling.ColumnData.SortDoubles(a);
        Assert.Equal(expected, a); // -0.0 and 0.0 compare equal, so their relative order does not matter
    }
}
