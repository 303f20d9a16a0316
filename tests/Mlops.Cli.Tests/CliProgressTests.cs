using System.Text;
using Xunit;

namespace Mlops.Cli.Tests;

public sealed class CliProgressTests
{
    [Fact]
    public void PlainLine_FormatsValueShareRowsPerSecondAndEta()
    {
        string line = CliProgress.PlainLine.Format("reading big.csv", 50, 200, rows: 5000, TimeSpan.FromSeconds(2));
        Assert.Equal("reading big.csv: 50/200 (25%), 2500 rows/s, ETA 00:00:06", line);
        Assert.Equal(
            "scoring: 10/10 (100%), 1.5M rows/s",
            CliProgress.PlainLine.Format("scoring", 10, 10, rows: 3_000_000, TimeSpan.FromSeconds(2))
        );
        Assert.Equal("850k rows/s", CliProgress.Rate(850_000));
    }

    [Fact]
    public void PlainLine_WritesTheFirstReportThenAtMostOnePerIntervalAndTheEndOnce()
    {
        var writer = new StringWriter();
        IProgressLine line = new CliProgress.PlainLine(writer, "training", 100, TimeSpan.FromHours(1));
        for (int i = 1; i <= 100; i++)
            line.Report(i, rows: i * 10.0);
        line.Report(100); // a repeated final report adds nothing
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("training: 1/100 (1%)", lines[0]);
        Assert.StartsWith("training: 100/100 (100%)", lines[1]);
    }

    [Fact]
    public void PlainLine_ForACounterWithoutRows_ShowsTheShareAndEtaButNoRate()
    {
        // The benchmarks count trials, models or cases: no data rows, so no rows/s.
        Assert.Equal(
            "sweep diamonds seed 1: 3/12 (25%), ETA 00:00:30",
            CliProgress.PlainLine.Format("sweep diamonds seed 1", 3, 12, rows: null, TimeSpan.FromSeconds(10))
        );

        var writer = new StringWriter();
        IProgressLine line = new CliProgress.PlainLine(writer, "sweep", 1, TimeSpan.Zero);
        line.Report(0, max: 4, description: "sweep diamonds seed 1");
        for (int trial = 1; trial <= 4; trial++)
            line.Report(trial);
        var lines = writer
            .ToString()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.TrimEnd('\r'))
            .ToArray();
        Assert.Equal(5, lines.Length);
        Assert.Equal("sweep diamonds seed 1: 0/4 (0%)", lines[0]);
        Assert.StartsWith("sweep diamonds seed 1: 2/4 (50%), ETA ", lines[2]);
        Assert.Equal("sweep diamonds seed 1: 4/4 (100%)", lines[4]);
        Assert.DoesNotContain(lines, l => l.Contains("rows/s", StringComparison.Ordinal));
    }

    [Fact]
    public void Progress_IsOffForCapturedWritersAndUnderQuiet()
    {
        Assert.Equal(CliProgress.Mode.None, CliProgress.ForStderr(quiet: true));
        Assert.Equal(CliProgress.Mode.None, CliProgress.For(new StringWriter(), quiet: false));
        Assert.Equal(CliProgress.Mode.None, CliProgress.For(Console.Out, quiet: true));
        Assert.Equal(42, CliProgress.Run(CliProgress.Mode.None, add =>
            {
                add("x", 1).Report(1);
                return 42;
            }));
    }

    [Fact]
    public void LineCountingStream_ReportsBytesAndNewlines()
    {
        var data = Encoding.UTF8.GetBytes("a,b\n1,2\n3,4\n");
        (long Bytes, long Lines) last = default;
        using var stream = new LineCountingStream(new MemoryStream(data), (b, l) => last = (b, l));
        var table = Mlops.Data.Tabular.CsvTableReader.Read(stream);
        Assert.Equal(2, table.RowCount);
        Assert.Equal((data.Length, 3L), last);
    }
}
