using System.Globalization;
using System.Text;
using Mlops.Data.Tabular;
using Xunit;

namespace Mlops.Data.Tests.Tabular;

/// <summary>
/// The parallel CSV parser against the serial reader: on every file of the malformed corpus, the reader tests' cases,
/// the real datasets and generated files, cut into chunks as small as one byte, it gives the same table (names, kinds,
/// every value) or hands the file to the serial reader, which then raises the same error with the same line and column.
/// </summary>
public sealed class ParallelCsvParserTests
{
    private static readonly int[] ChunkSizes = [1, 7, 64, 4096];

    private static IEnumerable<(string Name, byte[] Bytes, CsvReaderOptions Options)> Cases()
    {
        var defaults = CsvReaderOptions.Default;
        foreach (var (name, bytes) in MalformedCsvCorpusTests.Corpus())
            yield return (name, bytes, defaults);
        static byte[] U(string s) => Encoding.UTF8.GetBytes(s);
        yield return (
            "quoted delimiters, quotes, newlines",
            U("name,note\r\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\"\r\nDoe,plain\r\n"),
            defaults
        );
        yield return ("empty fields", U("a,b\n1,x\n,\n3,y\n"), defaults);
        yield return ("numbers then text", U("code\n1\n2.50\nA\n7.0\n1e3\n"), defaults);
        yield return (
            "text late in a long numeric column",
            U("v,w\n" + string.Concat(Enumerable.Range(0, 300).Select(i => $"{i}.50,{i}\n")) + "x,1\n3.0,2\n"),
            defaults
        );
        yield return (
            "forced categorical",
            U("zip,v\n01234,1\n00042,2\n"),
            new CsvReaderOptions
            {
                ColumnKinds = new Dictionary<string, ColumnKind> { ["zip"] = ColumnKind.Categorical },
            }
        );
        yield return (
            "forced numeric with text",
            U("a,b\n1,2\n3,x\n"),
            new CsvReaderOptions { ColumnKinds = new Dictionary<string, ColumnKind> { ["b"] = ColumnKind.Numeric } }
        );
        yield return (
            "forced boolean",
            U("f,v\ntrue,1\nFALSE,2\n1,3\n"),
            new CsvReaderOptions { ColumnKinds = new Dictionary<string, ColumnKind> { ["f"] = ColumnKind.Boolean } }
        );
        yield return (
            "forced boolean, bad value",
            U("f,v\ntrue,1\nmaybe,2\n"),
            new CsvReaderOptions { ColumnKinds = new Dictionary<string, ColumnKind> { ["f"] = ColumnKind.Boolean } }
        );
        yield return (
            "missing tokens",
            U("a,b\nNA,x\n2,?\n3,y\n"),
            new CsvReaderOptions { MissingTokens = ["", "NA", "?"] }
        );
        yield return ("semicolons", U("a;b\n1;\"x;y\"\n2;z\n"), new CsvReaderOptions { Delimiter = ';' });
        yield return (
            "mixed kinds",
            U(
                "x,color,flag,when\n"
                    + string.Concat(
                        Enumerable
                            .Range(0, 30)
                            .Select(i =>
                                $"{(i * 1.5).ToString(CultureInfo.InvariantCulture)},{(i % 3 == 0 ? "red" : "blue")},{(i % 2 == 0 ? "true" : "False")},2024-01-{i % 28 + 1:00}\n"
                            )
                    )
            ),
            defaults
        );
        yield return ("line numbers after a multi-line field", U("a,b\n\"x\ny\",2\n1,2,3\n"), defaults);
        yield return (
            "record over the limit",
            U("a\n" + new string('x', 5000) + "\n"),
            new CsvReaderOptions { MaxRecordLength = 1000 }
        );
        yield return ("non-ASCII text", U("name,v\nZürich,1\n東京,2\n\"naïve, \"\"quoted\"\"\",3\n"), defaults);
        yield return ("trailing blank lines", U("a,b\n1,2\n3,4\n\n\n"), defaults);
        yield return ("no final newline", U("a,b\n1,2\n3,4"), defaults);
        yield return ("trailing delimiter at the end", U("a,b\n1,2\n3,"), defaults);
        yield return (
            "unique strings",
            U("id\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"user-{i}\n"))),
            defaults
        );
        yield return ("generated table", TestData.Csv(2000, seed: 3), defaults);
        foreach (var file in new[] { "sk_iris.csv", "sk_wine.csv", "sk_breast_cancer.csv", "sk_diabetes.csv" })
            yield return (file, File.ReadAllBytes(DataPath(file)), defaults);
    }

    [Fact]
    public void TryReadParallel_EveryCaseAtEveryChunkSize_SameTableOrSameErrorAsSerial()
    {
        int parallelTables = 0;
        foreach (var (name, bytes, options) in Cases())
        {
            var serial = Outcome(() => CsvTableReader.Read(new MemoryStream(bytes), options));
            // One-byte chunks on the megabyte-long cases only repeat what the small cases show, slowly.
            foreach (int chunk in ChunkSizes.Where(size => size > 1 || bytes.Length < 65_536))
            {
                var parallel = CsvTableReader.TryReadParallel(bytes, options, chunk);
                if (parallel is not null)
                {
                    parallelTables++;
                    Assert.True(
                        serial.Table is not null,
                        $"{name} (chunks of {chunk} B): the serial reader fails ({serial.Error}) but the parallel parser gave a table"
                    );
                    AssertSameTable(serial.Table!, parallel, $"{name} (chunks of {chunk} B)");
                }
                // What a caller sees: the parallel table or, when it declines, the serial reader's own outcome.
                var public_ = Outcome(() => CsvTableReader.Read((ReadOnlyMemory<byte>)bytes, options));
                Assert.Equal(serial.Error, public_.Error);
            }
        }
        // Most well-formed cases must actually take the parallel path, or this test would prove nothing.
        Assert.True(parallelTables >= 60, $"only {parallelTables} parallel tables");
    }

    [Fact]
    public void Read_LargeBufferWithRaggedRowDeepInside_ReportsTheSerialLineAndColumn()
    {
        var sb = new StringBuilder("a,b,c\n");
        for (int i = 0; i < 120_000; i++)
            sb.Append(i).Append(",\"x\ny\",").Append(i * 0.5).Append('\n');
        sb.Append("1,2\n");
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        Assert.True(bytes.Length > CsvTableReader.ParallelMinBytes);
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Read((ReadOnlyMemory<byte>)bytes));
        Assert.Equal(240_002, ex.Line); // two physical lines per record, then the header
        Assert.Contains("2 fields but the header has 3", ex.Message);
    }

    [Fact]
    public void ReadFile_LargeFile_ParallelTableEqualsSerialAndReportsProgress()
    {
        var sb = new StringBuilder("x,color,y\n");
        var rng = new Random(5);
        for (int i = 0; i < 60_000; i++)
            sb.Append((rng.NextDouble() * 100 - 50).ToString("R", CultureInfo.InvariantCulture))
                .Append(',')
                .Append(
                    i % 3 == 0 ? "red"
                    : i % 3 == 1 ? "\"gr\"\"een\""
                    : ""
                )
                .Append(',')
                .Append(i % 2)
                .Append("\r\n");
        var path = Path.Combine(Path.GetTempPath(), $"parallel-csv-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, sb.ToString());
        try
        {
            long lastBytes = 0,
                lastRows = 0;
            var table = CsvTableReader.ReadFile(path, null, (bytes, rows) =>
            {
                lastBytes = bytes;
                lastRows = rows;
            });
            AssertSameTable(CsvTableReader.Read(File.OpenRead(path)), table, "file");
            Assert.Equal(new FileInfo(path).Length - "x,color,y\n".Length, lastBytes); // every byte after the header
            Assert.Equal(60_000, lastRows);
            Assert.Equal(ColumnKind.Categorical, table["color"].Kind);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void DecimalFastPath_RandomDecimals_BitIdenticalToDoubleParseOrDeclines()
    {
        var rng = new Random(23);
        int taken = 0;
        for (int n = 0; n < 200_000; n++)
        {
            var sb = new StringBuilder();
            if (rng.Next(3) == 0)
                sb.Append('-');
            int intDigits = rng.Next(0, 12),
                fracDigits = rng.Next(0, 12);
            for (int d = 0; d < intDigits; d++)
                sb.Append((char)('0' + rng.Next(10)));
            if (fracDigits > 0 || rng.Next(4) == 0)
                sb.Append('.');
            for (int d = 0; d < fracDigits; d++)
                sb.Append((char)('0' + rng.Next(10)));
            if (rng.Next(4) == 0)
                sb.Append(rng.Next(2) == 0 ? 'e' : 'E')
                    .Append(
                        rng.Next(3) switch
                        {
                            0 => "-",
                            1 => "+",
                            _ => "",
                        }
                    )
                    .Append(rng.Next(0, 40));
            var text = sb.ToString();
            if (!DecimalFastPath.TryParse(Encoding.ASCII.GetBytes(text), out var fast))
                continue;
            taken++;
            Assert.True(
                double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var expected),
                $"'{text}' is not a number for double.Parse"
            );
            Assert.True(
                BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(fast),
                $"'{text}': {fast:R} vs {expected:R}"
            );
        }
        Assert.True(taken > 50_000, $"the fast path took only {taken} values");
        foreach (
            var declined in new[]
            {
                "",
                "-",
                ".5",
                "1.",
                "+1",
                " 1",
                "1 ",
                "NaN",
                "Infinity",
                "1e",
                "12345678901234567890",
                "1e400",
                "0x10",
            }
        )
            Assert.False(DecimalFastPath.TryParse(Encoding.ASCII.GetBytes(declined), out _), declined);
        Assert.True(DecimalFastPath.TryParse("-0.0"u8, out var negativeZero) && double.IsNegative(negativeZero));
    }

    private static (DataTable? Table, string? Error) Outcome(Func<DataTable> read)
    {
        try
        {
            return (read(), null);
        }
        catch (CsvFormatException ex)
        {
            return (null, ex.Message);
        }
    }

    private static void AssertSameTable(DataTable expected, DataTable actual, string what)
    {
        Assert.True(expected.ColumnNames.SequenceEqual(actual.ColumnNames), $"{what}: column names differ");
        Assert.Equal(expected.RowCount, actual.RowCount);
        for (int c = 0; c < expected.Columns.Count; c++)
        {
            var e = expected.Columns[c];
            var a = actual.Columns[c];
            Assert.True(e.Kind == a.Kind, $"{what}: column {e.Name} is {a.Kind}, serial {e.Kind}");
            Assert.Equal(e.Numbers is null, a.Numbers is null);
            Assert.Equal(e.Strings is null, a.Strings is null);
            if (e.Numbers is not null)
                for (int r = 0; r < e.Numbers.Length; r++)
                    Assert.True(
                        BitConverter.DoubleToInt64Bits(e.Numbers[r]) == BitConverter.DoubleToInt64Bits(a.Numbers![r]),
                        $"{what}: {e.Name}[{r}] = {a.Numbers![r]}, serial {e.Numbers[r]}"
                    );
            if (e.Strings is not null)
                Assert.True(e.Strings.SequenceEqual(a.Strings!), $"{what}: column {e.Name} has other strings");
        }
    }

    private static string DataPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "data", name);
    }
}
