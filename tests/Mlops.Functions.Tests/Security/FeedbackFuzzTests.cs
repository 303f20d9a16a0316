using System.Net.Http.Headers;
using System.Text;
using Mlops.Functions.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.Security;

/// <summary>
/// 10,000 seeded random and mutated feedback bodies (JSON and CSV) at the real host: every answer is 2xx or 4xx,
/// never 5xx, and the host keeps serving. The failing body is printed so a failure reproduces. Feedback needs the
/// master key and a model that exists, so the fuzzer first trains one and posts with the admin client; its ids were
/// never issued, so accepted bodies store nothing (counted unknown) — the parsing paths are what is fuzzed.
/// </summary>
public sealed class FeedbackFuzzTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    private const int Cases = 10_000;

    [Fact]
    public async Task Feedback_TenThousandRandomAndMutatedBodies_NoServerError()
    {
        await host.DropAsync(
            "fuzz-model",
            "data.csv",
            Mlops.Testing.Chaos.ChaosRun.SyntheticCsv(200, 1),
            """{"target":"label","task":"binary","trainer":"linear"}"""
        );
        await host.WaitForDropRunAsync("fuzz-model", "data.csv", TimeSpan.FromMinutes(3));
        var random = new Random(20261201);
        var statuses = new int[600];
        var failures = new List<string>();
        var bodies = Enumerable.Range(0, Cases).Select(_ => Next(random)).ToList();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, Cases),
            new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, ct) =>
            {
                var (bytes, csv) = bodies[i];
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue(csv ? "text/csv" : "application/json");
                var response = await host.Admin.PostAsync("/api/models/fuzz-model/feedback", content, ct);
                int status = (int)response.StatusCode;
                Interlocked.Increment(ref statuses[status]);
                if (status >= 500)
                    lock (failures)
                        failures.Add(
                            $"case {i} ({(csv ? "csv" : "json")}): {status} for {Convert.ToBase64String(bytes.AsSpan(0, Math.Min(bytes.Length, 300)))}"
                        );
            }
        );
        output.WriteLine(
            string.Join(", ", statuses.Select((n, s) => (n, s)).Where(x => x.n > 0).Select(x => $"{x.s}: {x.n}"))
        );
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
        Assert.True(
            statuses[200] > 500,
            $"only {statuses[200]} accepted bodies: the fuzzer should exercise the success path too"
        );
        Assert.True(statuses[400] > 2000, $"only {statuses[400]} bodies were rejected");
    }

    private static readonly string[] Labels =
    [
        "0",
        "1",
        "\"yes\"",
        "null",
        "true",
        "1e400",
        "\"\\ud800\"",
        "[]",
        "{}",
        "-0",
        "\"\"",
    ];
    private static readonly string[] Ids =
    [
        "\"a\"",
        "\"p-1\"",
        "\"\"",
        "1",
        "null",
        "\"\\ud800\"",
        "\"" + new string('x', 300) + "\"",
        "[]",
    ];

    private static (byte[] Body, bool Csv) Next(Random r) =>
        r.Next(10) switch
        {
            < 3 => (Encoding.UTF8.GetBytes(ValidJson(r)), false),
            < 5 => (Mutate(r, Encoding.UTF8.GetBytes(ValidJson(r))), false),
            < 7 => (Encoding.UTF8.GetBytes(Csv(r)), true),
            < 9 => (Mutate(r, Encoding.UTF8.GetBytes(Csv(r))), true),
            _ => (Enumerable.Range(0, r.Next(1, 200)).Select(_ => (byte)r.Next(256)).ToArray(), r.Next(2) == 0),
        };

    private static string ValidJson(Random r)
    {
        var items = Enumerable
            .Range(0, r.Next(0, 6))
            .Select(_ =>
                r.Next(6) == 0
                    ? $"{{\"predictionId\":{Ids[r.Next(Ids.Length)]},\"label\":{Labels[r.Next(Labels.Length)]}}}"
                    : $"{{\"predictionId\":\"p{r.Next(1000)}\",\"label\":{r.Next(2)}}}"
            );
        return r.Next(8) == 0
            ? $"{{\"labels\":[{string.Join(",", items)}],\"extra\":1}}"
            : $"{{\"labels\":[{string.Join(",", items)}]}}";
    }

    private static string Csv(Random r)
    {
        string header = r.Next(8) == 0 ? "id,label" : "predictionId,label";
        var lines = Enumerable
            .Range(0, r.Next(0, 6))
            .Select(_ => r.Next(5) == 0 ? "\"p,\"1\",x,y" : $"p{r.Next(1000)},{r.Next(2)}");
        return header + (r.Next(2) == 0 ? "\r\n" : "\n") + string.Join("\n", lines);
    }

    private static readonly byte[] Specials = "{}[],:\"\\\n"u8.ToArray().Append((byte)0xFF).ToArray();

    private static byte[] Mutate(Random r, byte[] bytes)
    {
        var b = bytes.ToList();
        for (int k = r.Next(1, 4); k > 0 && b.Count > 0; k--)
        {
            int at = r.Next(b.Count);
            switch (r.Next(3))
            {
                case 0:
                    b[at] = (byte)r.Next(256);
                    break;
                case 1:
                    b.RemoveAt(at);
                    break;
                default:
                    b.Insert(at, Specials[r.Next(Specials.Length)]);
                    break;
            }
        }
        return b.ToArray();
    }
}
