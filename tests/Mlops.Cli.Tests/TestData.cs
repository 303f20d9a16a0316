namespace Mlops.Cli.Tests;

/// <summary>The real datasets in <c>tests/data</c>, found from the test's output folder.</summary>
internal static class TestData
{
    public static string PathOf(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "data", name + ".csv");
    }
}
