using System.Text;
using Mlops.Core.Errors;
using Mlops.Data.Validation;
using Mlops.Data.Versions;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Data.Tests.Tabular;

/// <summary>
/// A corpus of malformed and odd CSV files through the whole ingest path (pre-check, parse, profile, validate): every
/// file ends in a stored report or a typed error, never a crash. The random part is seeded.
/// </summary>
public sealed class MalformedCsvCorpusTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Good = "x,color,y\n1,red,0\n2,blue,1\n3,red,0\n4,green,1\n5,blue,0\n6,red,1\n";

    public static IEnumerable<(string Name, byte[] Bytes)> Corpus()
    {
        static byte[] U(string s) => Encoding.UTF8.GetBytes(s);
        yield return ("empty", []);
        yield return ("whitespace", U("  \n\n \r\n"));
        yield return ("header only", U("x,color,y\n"));
        yield return ("header only, no newline", U("x,color,y"));
        yield return ("ragged rows", U("x,color,y\n1,red\n2,blue,1,extra\n"));
        yield return ("utf8 bom", [0xEF, 0xBB, 0xBF, .. U(Good)]);
        yield return ("double bom", [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, .. U(Good)]);
        yield return ("utf16le bom", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(Good)]);
        yield return ("utf16be bom", [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(Good)]);
        yield return ("crlf", U(Good.Replace("\n", "\r\n")));
        yield return ("crlf/lf mix", U("x,color,y\r\n1,red,0\n2,blue,1\r\n3,red,0\r4,green,1\n"));
        yield return ("lone cr", U("x,color,y\r1,red,0\r2,blue,1\r"));
        yield return ("quoted newlines", U("x,color,y\n1,\"re\nd\",0\n2,\"bl\r\nue\",1\n3,\"a,b\",0\n"));
        yield return ("unterminated quote", U("x,color,y\n1,\"red,0\n2,blue,1\n"));
        yield return ("quote in field", U("x,color,y\n1,re\"d,0\n"));
        yield return ("1 MB line", U("x,color,y\n1," + new string('a', 1 << 20) + ",0\n"));
        yield return ("1 MB header", U(string.Join(",", Enumerable.Range(0, 150_000).Select(i => "c" + i)) + "\n"));
        yield return ("nul bytes", U("x,color,y\n1,r\0d,0\n\0\0\0\n"));
        yield return ("invalid utf8", [.. U("x,color,y\n1,"), 0xFF, 0xFE, 0xC3, .. U(",0\n")]);
        yield return ("encoded surrogate", [.. U("x,color,y\n1,"), 0xED, 0xA0, 0x80, .. U(",0\n")]);
        yield return ("duplicate headers", U("x,x,y\n1,2,0\n3,4,1\n"));
        yield return ("empty header names", U(",,\n1,2,3\n"));
        yield return ("no label column", U("a,b\n1,2\n3,4\n"));
        yield return (
            "huge numbers",
            U("x,color,y\n1e400,red,0\n-1e400,blue,1\n" + new string('9', 5000) + ",red,0\n")
        );
        yield return ("nan and infinity", U("x,color,y\nNaN,red,0\nInfinity,blue,1\n-Infinity,red,0\n"));
        yield return ("binary zip header", [0x50, 0x4B, 0x03, 0x04, .. new byte[200]]);
        yield return ("semicolon separated", U("x;color;y\n1;red;0\n2;blue;1\n"));
        yield return ("only newlines", U(new string('\n', 10_000)));
        yield return (
            "many columns, one row",
            U(
                string.Join(",", Enumerable.Range(0, 5000).Select(i => "c" + i))
                    + ",y\n"
                    + string.Join(",", Enumerable.Range(0, 5001))
                    + "\n"
            )
        );

        var random = new Random(424242);
        var good = U(Good);
        for (int i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            yield return ($"random bytes {i}", bytes);
        }
        for (int i = 0; i < 300; i++)
        {
            var bytes = new List<byte>(good);
            for (int e = random.Next(1, 6); e > 0 && bytes.Count > 0; e--)
            {
                int at = random.Next(bytes.Count);
                switch (random.Next(5))
                {
                    case 0:
                        bytes[at] = (byte)random.Next(256);
                        break;
                    case 1:
                        bytes.RemoveAt(at);
                        break;
                    case 2:
                        bytes.Insert(at, (byte)"\"\r\n,\0"[random.Next(5)]);
                        break;
                    case 3:
                        bytes.InsertRange(at, [0xEF, 0xBB, 0xBF]);
                        break;
                    default:
                        bytes.RemoveRange(at, bytes.Count - at);
                        break;
                }
            }
            yield return ($"mutated {i}", bytes.ToArray());
        }
    }

    [Fact]
    public async Task Ingest_MalformedCorpus_EveryFileGetsAReportOrTypedError()
    {
        var store = new DatasetStore(new InMemoryBlobStore(), new InMemoryTableStore());
        var crashes = new List<string>();
        int reports = 0,
            typed = 0;
        foreach (var (name, bytes) in Corpus())
        {
            try
            {
                var result = await store.IngestAsync(
                    "corpus",
                    bytes,
                    name,
                    new IngestOptions("y", null, new TrainingRequirements(LabelTask.Binary))
                );
                Assert.NotNull(result.Report);
                Assert.NotNull(await store.GetReportAsync("corpus", result.Version.Hash)); // stored, so the run can be quarantined with it
                reports++;
            }
            catch (MlopsException e) when (e.Status is >= 400 and < 500)
            {
                typed++;
            }
            catch (Exception e)
            {
                crashes.Add($"{name}: {e.GetType().Name}: {e.Message}");
            }
        }
        output.WriteLine($"{reports} files got a stored report, {typed} a typed error, {crashes.Count} crashed");
        Assert.True(crashes.Count == 0, string.Join("\n", crashes.Take(10)));
        Assert.True(reports > 500, $"{reports} reports, {typed} typed errors");
    }
}
