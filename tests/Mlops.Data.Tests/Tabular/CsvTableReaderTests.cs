using System.Text;
using Mlops.Data.Tabular;
using Xunit;

namespace Mlops.Data.Tests.Tabular;

public class CsvTableReaderTests
{
    private static string DataPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "data", name);
    }

    [Fact]
    public void Parse_QuotedFieldsWithDelimitersQuotesAndNewlines_Unescapes()
    {
        var t = CsvTableReader.Parse("name,note\r\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\"\r\nDoe,plain\r\n");
        Assert.Equal(2, t.RowCount);
        Assert.Equal("Smith, J", t["name"].Strings![0]);
        Assert.Equal("said \"hi\"\nthen left", t["note"].Strings![0]);
    }

    [Fact]
    public void Parse_MixedKinds_InfersNumericCategoricalBooleanDateTime()
    {
        var csv = new StringBuilder("x,color,flag,when\n");
        for (int i = 0; i < 30; i++)
            csv.Append(
                $"{i * 1.5},{(i % 3 == 0 ? "red" : "blue")},{(i % 2 == 0 ? "true" : "False")},2024-01-{i % 28 + 1:00}\n"
            );
        var t = CsvTableReader.Parse(csv.ToString());
        Assert.Equal(ColumnKind.Numeric, t["x"].Kind);
        Assert.Equal(ColumnKind.Categorical, t["color"].Kind);
        Assert.Equal(ColumnKind.Boolean, t["flag"].Kind);
        Assert.Equal(ColumnKind.DateTime, t["when"].Kind);
        Assert.Equal(0.0, t["flag"].Numbers![1]);
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), t["when"].Numbers![0]);
    }

    [Fact]
    public void Parse_EmptyField_IsMissing()
    {
        var t = CsvTableReader.Parse("a,b\n1,x\n,\n3,y\n");
        Assert.True(double.IsNaN(t["a"].Numbers![1]));
        Assert.Null(t["b"].Strings![1]);
    }

    [Fact]
    public void Parse_UniqueStrings_InferredAsText()
    {
        var csv = new StringBuilder("id\n");
        for (int i = 0; i < 100; i++)
            csv.Append($"user-{i}\n");
        Assert.Equal(ColumnKind.Text, CsvTableReader.Parse(csv.ToString())["id"].Kind);
    }

    [Fact]
    public void Parse_NumbersThenText_ColumnBecomesCategoricalKeepingEarlierValues()
    {
        var t = CsvTableReader.Parse("code\n1\n2.5\nA\n");
        Assert.Equal(ColumnKind.Categorical, t["code"].Kind);
        Assert.Equal(new string?[] { "1", "2.5", "A" }, t["code"].Strings);
    }

    [Fact]
    public void Parse_ForcedKind_Overrides()
    {
        var t = CsvTableReader.Parse(
            "zip,v\n01234,1\n",
            new CsvReaderOptions
            {
                ColumnKinds = new Dictionary<string, ColumnKind> { ["zip"] = ColumnKind.Categorical },
            }
        );
        Assert.Equal("01234", t["zip"].Strings![0]);
    }

    [Fact]
    public void Parse_RaggedRow_ThrowsWithLine()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse("a,b\n1,2\n3\n"));
        Assert.Equal(3, ex.Line);
        Assert.Contains("1 fields but the header has 2", ex.Message);
    }

    [Fact]
    public void Parse_LineNumbersAfterMultilineQuotedField_CountPhysicalLines()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse("a,b\n\"x\ny\",2\n1,2,3\n"));
        Assert.Equal(4, ex.Line);
    }

    [Fact]
    public void Parse_QuoteInsideUnquotedField_ThrowsWithLineAndColumn()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse("a,b\n1,ab\"c\n"));
        Assert.Equal(2, ex.Line);
        Assert.Equal(2, ex.Column);
    }

    [Fact]
    public void Parse_UnclosedQuote_Throws()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse("a,b\n1,\"abc\n2,3\n"));
        Assert.Equal(2, ex.Line);
        Assert.Contains("not closed", ex.Message);
    }

    [Fact]
    public void Parse_TextAfterClosingQuote_Throws()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse("a\n\"x\"y\n"));
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void Parse_EmptyInput_Throws()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse(""));
        Assert.Contains("empty", ex.Message);
    }

    [Fact]
    public void Parse_HeaderOnly_Throws()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse("a,b\n"));
        Assert.Contains("no data rows", ex.Message);
    }

    [Fact]
    public void Parse_DuplicateHeader_Throws()
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Parse("a,a\n1,2\n"));
        Assert.Equal(2, ex.Column);
    }

    [Fact]
    public void Read_InvalidUtf8_Throws()
    {
        var bytes = Encoding.UTF8.GetBytes("a,b\n1,x\n").Concat(new byte[] { 0xC3, 0x28, (byte)'\n' }).ToArray();
        var ex = Assert.Throws<CsvFormatException>(() => CsvTableReader.Read(new MemoryStream(bytes)));
        Assert.Contains("UTF-8", ex.Message);
    }

    [Fact]
    public void Parse_HugeLine_ThrowsLimit()
    {
        var csv = "a\n" + new string('x', 5000) + "\n";
        var ex = Assert.Throws<CsvFormatException>(() =>
            CsvTableReader.Parse(csv, new CsvReaderOptions { MaxRecordLength = 1000 })
        );
        Assert.Equal(2, ex.Line);
        Assert.Contains("longer than the limit", ex.Message);
    }

    [Fact]
    public void Parse_BadNumberInForcedNumericColumn_NamesLineAndColumn()
    {
        var ex = Assert.Throws<CsvFormatException>(() =>
            CsvTableReader.Parse(
                "a,b\n1,2\n3,x\n",
                new CsvReaderOptions { ColumnKinds = new Dictionary<string, ColumnKind> { ["b"] = ColumnKind.Numeric } }
            )
        );
        Assert.Equal(3, ex.Line);
        Assert.Equal(2, ex.Column);
        Assert.Equal("b", ex.ColumnName);
    }

    [Fact]
    public void Parse_NumbersAreCultureInvariant()
    {
        var t = CsvTableReader.Parse("v\n1.5\n-2e3\n");
        Assert.Equal(new[] { 1.5, -2000 }, t["v"].Numbers);
    }

    [Fact]
    public void Read_LargeInputAcrossBufferBoundaries_ReadsAllRows()
    {
        var sb = new StringBuilder("id,text,v\n");
        for (int i = 0; i < 20000; i++)
            sb.Append(i).Append(",\"q,").Append(i % 7).Append("\"\"\",").Append(i * 0.25).Append("\r\n");
        var t = CsvTableReader.Parse(sb.ToString());
        Assert.Equal(20000, t.RowCount);
        Assert.Equal("q,3\"", t["text"].Strings![10]);
        Assert.Equal(19999 * 0.25, t["v"].Numbers![19999]);
    }

    [Fact]
    public void ReadChunks_StreamsFixedSizeChunksWithStableKinds()
    {
        var sb = new StringBuilder("x,c\n");
        for (int i = 0; i < 2500; i++)
            sb.Append(i).Append(',').Append(i % 2 == 0 ? "a" : "b").Append('\n');
        var chunks = CsvTableReader
            .ReadChunks(new MemoryStream(Encoding.UTF8.GetBytes(sb.ToString())), null, 1000)
            .ToList();
        Assert.Equal(new[] { 1000, 1000, 500 }, chunks.Select(c => c.RowCount));
        Assert.All(chunks, c => Assert.Equal(ColumnKind.Categorical, c["c"].Kind));
        Assert.Equal(2499, chunks[2]["x"].Numbers![499]);
    }

    [Fact]
    public void ReadFile_RealDatasetWithSpacesInNames_ReadsAllNumeric()
    {
        var t = CsvTableReader.ReadFile(DataPath("sk_breast_cancer.csv"));
        Assert.Equal(569, t.RowCount);
        Assert.Equal(31, t.Columns.Count);
        Assert.True(t.Contains("mean radius"));
        Assert.All(t.Columns, c => Assert.Equal(ColumnKind.Numeric, c.Kind));
    }

    [Fact]
    public void Parse_NoHeader_NamesColumnsAndKeepsFirstRow()
    {
        var t = CsvTableReader.Parse("1,2\n3,4\n", new CsvReaderOptions { HasHeader = false });
        Assert.Equal(2, t.RowCount);
        Assert.Equal(1.0, t["column1"].Numbers![0]);
    }
}

public class CsvTableWriterTests
{
    [Fact]
    public void Write_ThenRead_SameValuesAndKinds()
    {
        var original = CsvTableReader.Parse(
            "x,name,flag,when\n1.25,\"a,b\",true,2024-02-03\n,\"q\"\"x\",false,\n-3e-5,c,,2024-02-04T10:00:00Z\n"
        );
        var sw = new StringWriter();
        CsvTableWriter.Write(original, sw);
        var back = CsvTableReader.Parse(sw.ToString());
        Assert.Equal(original["x"].Numbers, back["x"].Numbers);
        Assert.Equal(original["name"].Strings, back["name"].Strings);
        Assert.Equal(original["flag"].Numbers, back["flag"].Numbers);
        Assert.Equal(original["when"].Numbers, back["when"].Numbers);
        Assert.Equal(original.Columns.Select(c => c.Kind), back.Columns.Select(c => c.Kind));
    }

    [Fact]
    public void TabularValues_SharedParsing_MatchesReader()
    {
        Assert.True(TabularValues.TryParseDateTime("2024-01-01", out var t));
        Assert.Equal(1704067200, t);
        Assert.False(TabularValues.TryParseDateTime("01/02/2024", out _));
        Assert.True(TabularValues.TryParseNumber("1e3", out var n));
        Assert.Equal(1000, n);
        Assert.False(TabularValues.TryParseNumber("1,000", out _));
    }
}
