using Mlops.Data.Tabular;

namespace Mlops.ML.Tests;

/// <summary>Loads the real datasets in tests/data and makes fixed, seeded splits.</summary>
internal static class TestData
{
    private static readonly Dictionary<string, DataTable> Cache = new();

    public static string PathOf(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "data", name + ".csv");
    }

    public static DataTable Load(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out var t))
                Cache[name] = t = CsvTableReader.ReadFile(PathOf(name));
            return t;
        }
    }

    /// <summary>Seeded 80/20 split.</summary>
    public static (DataTable Train, DataTable Test) Split(DataTable t, int seed = 42, double testFraction = 0.2)
    {
        var rng = new Random(seed);
        var perm = Enumerable.Range(0, t.RowCount).OrderBy(_ => rng.Next()).ToArray();
        int nTest = (int)Math.Round(t.RowCount * testFraction);
        return (t.SelectRows(perm.Skip(nTest).Order().ToArray()), t.SelectRows(perm.Take(nTest).Order().ToArray()));
    }
}
