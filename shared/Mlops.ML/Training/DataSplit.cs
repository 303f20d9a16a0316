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
        int n = data.RowCount;
        var perm = SeededPermutation(n, seed);
        var isTest = new bool[n];
        if (task == MlTask.Regression)
        {
            int nTest = (int)Math.Round(n * testFraction);
            for (int i = 0; i < nTest; i++)
                isTest[perm[i]] = true;
        }
        else
        {
            // Per class, the first rows of the permutation are its test rows.
            var labels = Labels.AsStrings(col);
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            var classOf = new int[n];
            var counts = new List<int>();
            for (int i = 0; i < n; i++)
            {
                string key = labels[i] ?? "\0";
                if (!ids.TryGetValue(key, out int id))
                {
                    ids[key] = id = ids.Count;
                    counts.Add(0);
                }
                classOf[i] = id;
                counts[id]++;
            }
            var wanted = counts.Select(c => (int)Math.Round(c * testFraction)).ToArray();
            var taken = new int[wanted.Length];
            foreach (int row in perm)
                if (taken[classOf[row]] < wanted[classOf[row]])
                {
                    taken[classOf[row]]++;
                    isTest[row] = true;
                }
        }
        int testRows = isTest.Count(t => t);
        var train = new int[n - testRows];
        var test = new int[testRows];
        for (int i = 0, a = 0, b = 0; i < n; i++)
            if (isTest[i])
                test[b++] = i;
            else
                train[a++] = i;
        if (train.Length == 0 || test.Length == 0)
            throw new MlException(
                "bad_data",
                $"Splitting {data.RowCount} rows with test fraction {testFraction} leaves one side empty."
            );
        return (data.SelectRows(train), data.SelectRows(test));
    }

    /// <summary>
    /// The rows in a seeded random order: row i gets the i-th draw of <see cref="Random"/>(seed) as its key, and rows
    /// are ordered by key, then by row (the order a stable sort by key gives, as the split has always used), sorted as
    /// packed 64-bit numbers rather than by a LINQ sort (0.24 s for 1.25M rows; the whole split went from 1.45 s to 1.0 s).
    /// </summary>
    internal static int[] SeededPermutation(int rows, int seed)
    {
        var rng = new Random(seed);
        var keyed = new long[rows];
        for (int i = 0; i < rows; i++)
            keyed[i] = ((long)rng.Next() << 32) | (uint)i;
        Array.Sort(keyed);
        var perm = new int[rows];
        for (int i = 0; i < rows; i++)
            perm[i] = (int)(keyed[i] & 0xFFFF_FFFF);
        return perm;
    }
}
