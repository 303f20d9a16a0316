using System.Text;
using Mlops.Registry;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary>
/// 10,000 seeded random and mutated bodies at the predict endpoint: every answer is 2xx or 4xx, never 5xx. The seed is
/// fixed so a failure reproduces; the failing body is printed in the assertion message.
/// </summary>
public sealed class PredictFuzzTests(ServingFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
    : IClassFixture<ServingFixture>
{
    private const int Cases = 10_000;
    private const int Seed = 20261201;

    [Fact]
    public async Task Predict_TenThousandRandomAndMutatedBodies_NoServerError()
    {
        string model = await fixture.ConstantModelAsync("fz", 2);
        await fixture
            .NewRegistry()
            .SetTrafficAsync(model, new TrafficConfig { Routes = [new(1, 50), new(2, 50)], Shadow = [] });
        long serverErrors = fixture.Host.Runtime.Metrics.ServerErrors.Value;

        var random = new Random(Seed);
        var bodies = Enumerable.Range(0, Cases).Select(_ => FuzzBody.Next(random)).ToList();
        var failures = new List<string>();
        var statuses = new int[600];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, Cases),
            new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, _) =>
            {
                var (status, _) = await fixture.Host.PredictBytesAsync(
                    model,
                    bodies[i],
                    i % 7 == 0 ? "?version=2" : null,
                    i % 5 == 0 ? $"k{i}" : null
                );
                Interlocked.Increment(ref statuses[status]);
                if (status >= 500)
                    lock (failures)
                        failures.Add(
                            $"case {i}: {status} for {Convert.ToBase64String(bodies[i].AsSpan(0, Math.Min(bodies[i].Length, 300)))}"
                        );
            }
        );

        output.WriteLine(
            string.Join(", ", statuses.Select((n, s) => (n, s)).Where(x => x.n > 0).Select(x => $"{x.s}: {x.n}"))
        );
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
        Assert.Equal(serverErrors, fixture.Host.Runtime.Metrics.ServerErrors.Value);
        Assert.True(
            statuses[200] > 500,
            $"only {statuses[200]} valid bodies were generated; the fuzzer should also exercise the success path"
        );
        Assert.True(statuses[400] > 2000, $"only {statuses[400]} bodies were rejected");
    }
}

/// <summary>Generates request bodies: valid ones, structurally random JSON, byte-level mutations of valid ones, random
/// bytes.</summary>
internal static class FuzzBody
{
    private static readonly string[] Names =
    [
        "x",
        "color",
        "rows",
        "requestKey",
        "X",
        "",
        "x ",
        "\\u0078",
        "\\ud800",
        "\\udc00\\ud800",
        "colour",
        "__proto__",
    ];
    private static readonly string[] Numbers =
    [
        "0",
        "-0",
        "1",
        "-1",
        "1.5",
        "1e308",
        "1e400",
        "-1e400",
        "1e-400",
        "0.1e1",
        "123456789012345678901234567890",
        "1E+2",
        "-",
        "01",
        "1.",
        ".5",
        "NaN",
        "Infinity",
        "0x10",
    ];
    private static readonly string[] Strings =
    [
        "",
        "red",
        "\\ud800",
        "\\udfff",
        "\\u0000",
        "\\\"",
        "é",
        "😀",
        "\\ud83d\\ude00",
        "\\uZZZZ",
        "\\",
        "a\\nb",
    ];

    public static byte[] Next(Random random) =>
        random.Next(10) switch
        {
            < 3 => Encoding.UTF8.GetBytes(Valid(random)),
            < 6 => Encoding.UTF8.GetBytes(RandomJson(random, 0)),
            < 9 => Mutate(random, Encoding.UTF8.GetBytes(random.Next(2) == 0 ? Valid(random) : RandomJson(random, 0))),
            _ => RandomBytes(random),
        };

    private static string Valid(Random random)
    {
        int rows = random.Next(1, 5);
        var sb = new StringBuilder("{\"rows\":[");
        for (int r = 0; r < rows; r++)
        {
            if (r > 0)
                sb.Append(',');
            sb.Append("{\"x\":")
                .Append(
                    random.Next(2) == 0
                        ? random.Next(-100, 100).ToString()
                        : (random.NextDouble() * 10).ToString("R", System.Globalization.CultureInfo.InvariantCulture)
                );
            sb.Append(",\"color\":\"")
                .Append(
                    random.Next(3) switch
                    {
                        0 => "red",
                        1 => "blue",
                        _ => "é😀",
                    }
                )
                .Append("\"}");
        }
        return sb.Append("]}").ToString();
    }

    private static string RandomJson(Random random, int depth)
    {
        int pick = depth > 4 ? random.Next(4) : random.Next(7);
        switch (pick)
        {
            case 0:
                return Numbers[random.Next(Numbers.Length)];
            case 1:
                return "\"" + Strings[random.Next(Strings.Length)] + "\"";
            case 2:
                return random.Next(3) switch
                {
                    0 => "true",
                    1 => "false",
                    _ => "null",
                };
            case 3:
                return random.Next(20) == 0
                    ? new string('9', random.Next(300, 6000))
                    : Numbers[random.Next(Numbers.Length)];
            case 4:
            case 5:
                var sb = new StringBuilder("{");
                int n = random.Next(0, 5);
                for (int i = 0; i < n; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    string name =
                        depth == 0 && i == 0 && random.Next(2) == 0 ? "rows" : Names[random.Next(Names.Length)];
                    sb.Append('"')
                        .Append(name)
                        .Append("\":")
                        .Append(
                            depth == 0 && name == "rows"
                                ? RandomArray(random, depth + 1)
                                : RandomJson(random, depth + 1)
                        );
                }
                return sb.Append('}').ToString();
            default:
                return RandomArray(random, depth + 1);
        }
    }

    private static string RandomArray(Random random, int depth)
    {
        int n = random.Next(0, 4);
        return "[" + string.Join(",", Enumerable.Range(0, n).Select(_ => RandomJson(random, depth))) + "]";
    }

    private static byte[] Mutate(Random random, byte[] body)
    {
        var bytes = new List<byte>(body);
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
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
                    bytes.InsertRange(at, random.Next(2) == 0 ? [0xFF, 0xFE] : [0xED, 0xA0, 0x80]);
                    break; // invalid UTF-8, encoded surrogate
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break; // truncate
                default:
                    bytes.InsertRange(at, bytes.GetRange(0, Math.Min(at, 64)));
                    break; // duplicate a prefix
            }
        }
        return bytes.ToArray();
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 200)];
        random.NextBytes(bytes);
        return bytes;
    }
}
