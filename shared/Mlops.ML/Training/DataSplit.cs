using Mlops.Data.Tabular;
using Mlops.ML.Models;

namespace Mlops.ML.Training;

/// <summary>Seeded train/test splits (stratified by class for classification, so small classes appear on both
/// sides).</summary>
public static class DataSplit
{
    public static (DataTable Train, DataTable Test) TrainTest(
        DataTable data,
        string target,
        MlTask task,
        double testFraction,
        int seed
    )
    {
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentException("The test fraction must be between 0 and 1.", nameof(testFraction));
        var col = data.Find(target)
            ?? throw new MlException("bad_target", $"Target column '{target}' is not in the data.");
        var rng = new Random(seed);
        var perm = Enumerable.Range(0, data.RowCount).OrderBy(_ => rng.Next()).ToArray();
        var isTest = new bool[data.RowCount];
        if (task == MlTask.Regression)
        {
            int nTest = (int)Math.Round(data.RowCount * testFraction);
            for (int i = 0; i < nTest; i++)
                isTest[perm[i]] = true;
        }
        else
        {
            var labels = Labels.AsStrings(col);
            foreach (var group in perm.GroupBy(i => labels[i] ?? "\0"))
            {
                var rows = group.ToArray();
                int nTest = (int)Math.Round(rows.Length * testFraction);
                for (int i = 0; i < nTest; i++)
                    isTest[rows[i]] = true;
            }
        }
        var train = Enumerable.Range(0, data.RowCount).Where(i => !isTest[i]).ToArray();
        var test = Enumerable.Range(0, data.RowCount).Where(i => isTest[i]).ToArray();
        if (train.Length == 0 || test.Length == 0)
            throw new MlException(
                "bad_data",
                $"Splitting {data.RowCount} rows with test fraction {testFraction} leaves one side empty."
            );
        return (data.SelectRows(train), data.SelectRows(test));
    }
}
