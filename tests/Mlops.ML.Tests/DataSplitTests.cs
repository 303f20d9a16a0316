using Mlops.Data.Tabular;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

/// <summary>The seeded split keeps the rows it has always chosen: same seed, same train and test rows.</summary>
public class DataSplitTests
{
    [Theory]
    [InlineData(1, 42)]
    [InlineData(1000, 42)]
    [InlineData(100_000, 7)] // enough rows for equal draws, which a stable sort orders by row
    public void SeededPermutation_IsTheStableOrderOfTheSeededDraws(int rows, int seed)
    {
        var rng = new Random(seed);
        var reference = Enumerable.Range(0, rows).OrderBy(_ => rng.Next()).ToArray();
        Assert.Equal(reference, DataSplit.SeededPermutation(rows, seed));
    }

    [Theory]
    [InlineData(MlTask.Binary)]
    [InlineData(MlTask.Regression)]
    public void TrainTest_PerClassShareOfEachClass_FirstRowsOfThePermutation(MlTask task)
    {
        const int rows = 5000;
        // Three classes of unequal size and some missing labels: each group gets its own share of test rows.
        var labels = Enumerable
            .Range(0, rows)
            .Select(i =>
                i % 17 == 0
                    ? null
                    : (
                        i % 5 == 0 ? "b"
                        : i % 3 == 0 ? "c"
                        : "a"
                    )
            )
            .ToArray();
        var data = new DataTable([
            new Column("id", ColumnKind.Numeric, Enumerable.Range(0, rows).Select(i => (double)i).ToArray(), null),
            new Column("y", ColumnKind.Categorical, null, labels),
        ]);
        var (train, test) = DataSplit.TrainTest(data, "y", task, 0.2, 11);

        var perm = DataSplit.SeededPermutation(rows, 11);
        var expectedTest =
            task == MlTask.Regression
                ? perm.Take(1000).ToHashSet()
                : perm.GroupBy(i => labels[i] ?? "\0")
                    .SelectMany(g => g.Take((int)Math.Round(g.Count() * 0.2)))
                    .ToHashSet();
        Assert.Equal(expectedTest.Order(), test["id"].Numbers!.Select(v => (int)v));
        Assert.Equal(
            Enumerable.Range(0, rows).Where(i => !expectedTest.Contains(i)),
            train["id"].Numbers!.Select(v => (int)v)
        );
        Assert.Equal(labels.Where((_, i) => !expectedTest.Contains(i)), train["y"].Strings);
    }
}
