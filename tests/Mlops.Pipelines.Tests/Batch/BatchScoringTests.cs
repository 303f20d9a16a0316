using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Batch;
using Mlops.Registry;
using Mlops.Serving.Batch;
using Mlops.Storage.InMemory;
using Mlops.Testing;
using Xunit;

namespace Mlops.Pipelines.Tests.Batch;

/// <summary>Batch scoring below the host: planning, chunk scoring, re-runs, errors, the finish, and the orchestration
/// in-process.</summary>
public sealed class BatchScoringTests
{
    private static readonly Lazy<(Model Model, DataTable Data)> Trained = new(() =>
    {
        var data = CsvTableReader.ReadFile(
            Path.Combine(AzuriteInstance.RepoRoot(), "tests", "data", "sk_breast_cancer.csv")
        );
        var trained = ModelTrainer.Train(
            data,
            new TrainingSpec("target", MlTask.Binary)
            {
                Options = new Dictionary<string, object> { ["num_rounds"] = 10 },
            }
        );
        return (trained.Model, data);
    });

    /// <summary>The breast cancer rows as a scoring input: an id column first, no target, numbers as written.</summary>
    private static string Input(int rows, Func<int, string?>? replace = null)
    {
        var (_, data) = Trained.Value;
        var features = data.Columns.Where(c => c.Name != "target").ToList();
        var csv = new StringBuilder("id," + string.Join(",", features.Select(c => c.Name)) + "\n");
        for (int r = 0; r < rows; r++)
        {
            int source = r % data.RowCount;
            csv.Append(
                replace?.Invoke(r + 1)
                    ?? $"id-{r + 1},"
                        + string.Join(
                            ",",
                            features.Select(c => c.Numbers![source].ToString("R", CultureInfo.InvariantCulture))
                        )
            );
            csv.Append('\n');
        }
        return csv.ToString();
    }

    private static async Task<(StorageServices Storage, PipelineServices Services, string Model)> SetUpAsync()
    {
        var storage = new StorageServices(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore());
        var services = PipelineServices.Create(storage);
        string model = "bc-" + Guid.NewGuid().ToString("N")[..6];
        var v = await services.Registry.RegisterAsync(
            new RegisterModelRequest(model, Encoding.UTF8.GetBytes(Trained.Value.Model.ToJson()), IdempotencyKey: "r1")
        );
        await services.Registry.PromoteAsync(model, v.Version);
        return (storage, services, model);
    }

    private static async Task<BatchJobRequest> DropAsync(
        StorageServices storage,
        string model,
        string csv,
        BatchSettings? settings = null
    )
    {
        string input = $"{model}/in.csv";
        string etag = await storage.Blobs.WriteAsync(BatchPaths.ScoringContainer, input, Encoding.UTF8.GetBytes(csv));
        return (settings ?? new BatchSettings()).ToJob(model, input, etag, "test");
    }

    /// <summary>Row numbers of every part (and of the errors file), as the output files say them.</summary>
    private static async Task<List<long>> RowNumbersAsync(IBlobStore blobs, IEnumerable<string> blobNames)
    {
        var rows = new List<long>();
        foreach (var name in blobNames)
        {
            var text = Encoding.UTF8.GetString((await blobs.ReadAsync(BatchPaths.PredictionsContainer, name))!.Data);
            rows.AddRange(
                text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Skip(1)
                    .Select(l => long.Parse(l[..l.IndexOf(',')], CultureInfo.InvariantCulture))
            );
        }
        return rows;
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(16, 7)]
    [InlineData(37, 5)]
    [InlineData(4096, 1000)]
    public async Task PlanAsync_QuotedLineBreaksAnyBlockSize_EveryRecordInExactlyOneChunk(int blockBytes, int chunkRows)
    {
        var csv = new StringBuilder("id,text,x\r\n");
        for (int r = 1; r <= 120; r++)
        {
            string text = (r % 3) switch
            {
                0 => "\"line one\nline two\"",
                1 => "\"say \"\"hi\"\", \r\n ok\"",
                _ => "plain",
            };
            csv.Append($"{r},{text},{r * 0.5}\r\n");
        }
        csv.Append("121,last,1"); // no line end after the last record
        var bytes = Encoding.UTF8.GetBytes(csv.ToString());

        var layout = await BatchPlanner.PlanAsync(new MemoryStream(bytes), chunkRows, blockBytes);

        Assert.Equal(new[] { "id", "text", "x" }, layout.Header);
        Assert.Equal(121, layout.Records);
        Assert.Equal(bytes.Length, layout.Bytes);
        long offset = Encoding.UTF8.GetByteCount(layout.HeaderLine),
            next = 1;
        foreach (var chunk in layout.Chunks)
        {
            Assert.Equal(offset, chunk.Offset);
            Assert.Equal(next, chunk.FirstRow);
            // The chunk's bytes, read on their own, hold exactly its records, starting with the right id.
            using var reader = new CsvRecordReader(
                new MemoryStream(bytes, (int)chunk.Offset, (int)chunk.Length),
                new CsvReaderOptions { HasHeader = false }
            );
            var ids = new List<long>();
            while (reader.Read())
                ids.Add(long.Parse(reader.GetString(0), CultureInfo.InvariantCulture));
            Assert.Equal(Enumerable.Range((int)chunk.FirstRow, (int)chunk.Rows).Select(i => (long)i), ids);
            offset += chunk.Length;
            next += chunk.Rows;
        }
        Assert.Equal(bytes.Length, offset);
        Assert.Equal(122, next);
    }

    [Fact]
    public async Task ScoreChunks_ShuffledAndOneRerun_EveryRowOnce_BadRowsInErrorsFile_PredictionsMatchLibrary()
    {
        var (storage, services, model) = await SetUpAsync();
        const int rows = 1000;
        var firstColumn = Trained.Value.Data.Columns.First(c => c.Name != "target").Name;
        string csv = Input(rows, r => r switch
            {
                17 => "id-17,abc" + string.Concat(Enumerable.Repeat(",1", 29)), // a word where the model wants a number
                503 => "id-503,1,2,3", // a short record
                _ => null,
            });
        var job = await DropAsync(storage, model, csv, new BatchSettings(Columns: ["id"], ChunkRows: 64));
        var service = new BatchScoringService(storage.Blobs, services.Registry);
        var plan = await service.PlanAsync(job);
        Assert.Null(plan.Failure);
        Assert.Equal(rows, plan.RowsTotal);
        Assert.Equal(16, plan.Chunks.Count);

        string jobId = BatchPaths.JobId(job.Model, job.Input, job.InputETag);
        var started = DateTime.UtcNow;
        var results = new Dictionary<int, ChunkResult>();
        // Any order, and chunk 3 twice (a worker killed after writing its part): the second run overwrites the first.
        foreach (var chunk in plan.Chunks.OrderBy(c => (c.Index * 7919) % 16).Append(plan.Chunks[3]))
            results[chunk.Index] = await service.ScoreChunkAsync(
                new ScoreChunkRequest(job, jobId, plan.Version, plan.HeaderLine, chunk, started)
            );
        var result = await service.FinishAsync(
            new FinishBatchRequest(
                job,
                jobId,
                plan.Version,
                plan.RowsTotal,
                results.Values.ToList(),
                started,
                DateTime.UtcNow,
                null
            )
        );

        Assert.Equal(rows - 2, result.Rows);
        Assert.Equal(2, result.Errors);
        var scored = await RowNumbersAsync(storage.Blobs, result.Parts);
        var failed = await RowNumbersAsync(storage.Blobs, [result.ErrorsBlob]);
        Assert.Equal(new long[] { 17, 503 }, failed);
        Assert.Equal(Enumerable.Range(1, rows).Select(i => (long)i), scored.Concat(failed).Order());
        var errors = Encoding.UTF8.GetString(
            (await storage.Blobs.ReadAsync(BatchPaths.PredictionsContainer, result.ErrorsBlob))!.Data
        );
        Assert.Contains($"17,{firstColumn},'abc' is not a number", errors.Replace("\"", ""));
        Assert.Contains("503,,the record has 4 field(s); the header has 31", errors);

        // The predictions are the library's for the same rows, with the id copied.
        var part = Encoding
            .UTF8.GetString((await storage.Blobs.ReadAsync(BatchPaths.PredictionsContainer, result.Parts[0]))!.Data)
            .Split('\n');
        Assert.Equal("row,id,prediction,probability_0,probability_1", part[0]);
        var expected = Trained.Value.Model.PredictBatch(
            Trained.Value.Data.SelectRows(Enumerable.Range(0, 5).ToArray())
        );
        for (int r = 0; r < 5; r++)
        {
            var fields = part[r + 1].Split(',');
            Assert.Equal((r + 1).ToString(CultureInfo.InvariantCulture), fields[0]);
            Assert.Equal($"id-{r + 1}", fields[1]);
            Assert.Equal(expected.Labels![r], fields[2]);
            Assert.Equal(expected.Probability(r, 1), double.Parse(fields[4], CultureInfo.InvariantCulture), 12);
        }
        var manifest = JsonDocument
            .Parse((await storage.Blobs.ReadAsync(BatchPaths.PredictionsContainer, result.Manifest))!.Data)
            .RootElement;
        Assert.Equal(plan.Version, manifest.GetProperty("version").GetInt32());
        Assert.Equal(rows - 2, manifest.GetProperty("rows").GetInt64());
        Assert.Equal(16, manifest.GetProperty("parts").GetArrayLength());
    }

    [Fact]
    public async Task ScoreChunk_Explain_BaseAndContributionsAddUpToEachRowsLogOdds()
    {
        var (storage, services, model) = await SetUpAsync();
        var job = await DropAsync(storage, model, Input(50), new BatchSettings(Explain: true));
        var service = new BatchScoringService(storage.Blobs, services.Registry);
        var plan = await service.PlanAsync(job);
        Assert.Null(plan.Failure);
        var result = await service.ScoreChunkAsync(
            new ScoreChunkRequest(job, "j", plan.Version, plan.HeaderLine, plan.Chunks[0], DateTime.UtcNow)
        );
        var lines = Encoding
            .UTF8.GetString((await storage.Blobs.ReadAsync(BatchPaths.PredictionsContainer, result.Part))!.Data)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        var explainer = Mlops.ML.Explain.ModelExplainer.For(Trained.Value.Model);
        Assert.Equal(
            new[] { "row", "prediction", "probability_0", "probability_1" }.Concat(explainer.FlatNames),
            header.Select(h => h.Trim('"'))
        );
        Assert.Equal(30, explainer.Columns.Count); // every feature column, no id
        Assert.Equal(51, lines.Length);
        int baseAt = Array.IndexOf(header, "base");
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(',').Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            double p = fields[3];
            double sum = fields.Skip(baseAt).Sum();
            Assert.Equal(Math.Log(p / (1 - p)), sum, 6);
        }
    }

    [Theory]
    [InlineData("""{"explain": "yes"}""")]
    [InlineData("""{"explain": 1}""")]
    public void Settings_ExplainThatIsNotTrueOrFalse_IsA400NamingIt(string json)
    {
        var e = Assert.Throws<Mlops.Core.Errors.MlopsException>(() =>
            Mlops.Core.Errors.RequestJson.Parse<BatchSettings>(Encoding.UTF8.GetBytes(json), "batch")
        );
        Assert.Equal(400, e.Status);
        Assert.Contains("explain", e.Message);
    }

    [Fact]
    public async Task PlanAsync_ExplainOnAModelSavedWithoutCovers_FailsBeforeAnyChunk()
    {
        var storage = new StorageServices(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore());
        var services = PipelineServices.Create(storage);
        // A model file written before explanations: trees without node covers.
        var node = System.Text.Json.Nodes.JsonNode.Parse(Trained.Value.Model.ToJson())!;
        foreach (var t in node["gbdt"]!["trees"]!.AsArray())
        {
            t!.AsObject().Remove("cover");
            t.AsObject().Remove("leafCover");
        }
        var v = await services.Registry.RegisterAsync(
            new RegisterModelRequest("bc-old", Encoding.UTF8.GetBytes(node.ToJsonString()), IdempotencyKey: "r1")
        );
        await services.Registry.PromoteAsync("bc-old", v.Version);
        var service = new BatchScoringService(storage.Blobs, services.Registry);

        var plain = await service.PlanAsync(await DropAsync(storage, "bc-old", Input(10)));
        Assert.Null(plain.Failure);
        var plan = await service.PlanAsync(
            await DropAsync(storage, "bc-old", Input(10), new BatchSettings(Explain: true))
        );
        Assert.Contains("cannot be explained", plan.Failure);
        Assert.Empty(plan.Chunks);
    }

    [Fact]
    public async Task PlanAsync_HeaderWithoutAModelColumn_FailsNamingMissingAndExtraColumns()
    {
        var (storage, services, model) = await SetUpAsync();
        string csv = Input(10).Replace("mean radius", "radius_mean");
        var plan = await new BatchScoringService(storage.Blobs, services.Registry).PlanAsync(
            await DropAsync(storage, model, csv)
        );
        Assert.NotNull(plan.Failure);
        Assert.Contains("missing column(s) 'mean radius'", plan.Failure);
        Assert.Contains("'radius_mean'", plan.Failure);
        Assert.Empty(plan.Chunks);
    }

    [Theory]
    [InlineData(-1, 1000, -1)]
    [InlineData(0, 1000, 0)]
    [InlineData(100, 1000, 100)]
    [InlineData(0.01, 1000, 10)]
    [InlineData(0.5, 3, 1)]
    public void ErrorLimit_CountShareNoneOrNever(double threshold, long rows, long expected) =>
        Assert.Equal(expected, BatchScoring.ErrorLimit(threshold, rows));

    [Theory]
    [InlineData("../incoming/x.csv")]
    [InlineData("/m/x.csv")]
    [InlineData("https://evil/x.csv")]
    [InlineData("m/%2e%2e/x.csv")]
    [InlineData("m\\x.csv")]
    [InlineData("")]
    public void CheckInput_OutsideTheScoringContainer_IsA400(string input)
    {
        var e = Assert.Throws<Mlops.Core.Errors.MlopsException>(() => BatchPaths.CheckInput(input));
        Assert.Equal(400, e.Status);
    }

    [Fact]
    public void ToJob_SameBlobVersion_SameJobId_OtherVersionOtherId()
    {
        var a = new BatchSettings().ToJob("m", "m/x.csv", "\"0x1\"", "api");
        var b = new BatchSettings(ChunkRows: 10).ToJob("m", "m/x.csv", "0x1", "drop");
        var c = new BatchSettings().ToJob("m", "m/x.csv", "0x2", "drop");
        string id(BatchJobRequest j) => BatchPaths.JobId(j.Model, j.Input, j.InputETag);
        Assert.Equal(id(a), id(b));
        Assert.NotEqual(id(a), id(c));
        Assert.Equal($"m/{id(a)}", a.Output);
        Assert.Throws<Mlops.Core.Errors.MlopsException>(() =>
            new BatchSettings(ErrorThreshold: 1.5).ToJob("m", "m/x.csv", "1", "api")
        );
        Assert.Throws<Mlops.Core.Errors.MlopsException>(() =>
            new BatchSettings(Version: 1, Alias: "production").ToJob("m", "m/x.csv", "1", "api")
        );
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task<(OrchestrationMetadata State, StorageServices Storage)> RunJobAsync(
        string csv,
        BatchSettings settings
    )
    {
        var (storage, services, model) = await SetUpAsync();
        var job = await DropAsync(storage, model, csv, settings);
        await using var host = await DurableTaskTestHost.StartAsync(
            r => r.AddPipelines(),
            new DurableTaskTestHostOptions
            {
                Port = FreePort(),
                ConfigureServices = s =>
                {
                    s.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
                    s.AddSingleton(services);
                },
            }
        );
        string id = BatchPaths.JobId(job.Model, job.Input, job.InputETag);
        await host.Client.ScheduleNewOrchestrationInstanceAsync(
            BatchScoring.Name,
            job,
            new StartOrchestrationOptions(id)
        );
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        return (await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token), storage);
    }

    [Fact]
    public async Task BatchScoring_InProcess_CompletesWithEveryRow_StatusAtHundredPercent()
    {
        var (state, storage) = await RunJobAsync(
            Input(300),
            new BatchSettings(ChunkRows: 40, Combine: true, Log: true, Explain: true)
        );
        Assert.True(state.RuntimeStatus == OrchestrationRuntimeStatus.Completed, state.FailureDetails?.ErrorMessage);
        var result = state.ReadOutputAs<BatchResult>()!;
        Assert.Equal(300, result.Rows);
        Assert.Equal(8, result.Parts.Count);
        var status = state.ReadCustomStatusAs<BatchProgress>()!;
        Assert.Equal(100, status.Percent);
        Assert.Equal(300, status.RowsScored);
        Assert.Equal(
            Enumerable.Range(1, 300).Select(i => (long)i),
            await RowNumbersAsync(storage.Blobs, [result.Combined!])
        );
        // "explain" survives the orchestration's serialization: the parts carry the explanation columns.
        var combined = Encoding.UTF8.GetString(
            (await storage.Blobs.ReadAsync(BatchPaths.PredictionsContainer, result.Combined!))!.Data
        );
        Assert.StartsWith("row,prediction,probability_0,probability_1,base,contribution_", combined);

        // "log": the predictions are in the prediction log's hour folders, one id per row ({jobId}:{row}).
        var ids = new List<string>();
        await foreach (var blob in storage.Blobs.ListAsync(BatchPaths.PredictionsContainer, result.Model + "/"))
        {
            if (!blob.Name.EndsWith(".jsonl", StringComparison.Ordinal))
                continue;
            var text = Encoding.UTF8.GetString(
                (await storage.Blobs.ReadAsync(BatchPaths.PredictionsContainer, blob.Name))!.Data
            );
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var entry = JsonDocument.Parse(line).RootElement;
                Assert.Equal(entry.GetProperty("ids").GetArrayLength(), entry.GetProperty("outputs").GetArrayLength());
                ids.AddRange(entry.GetProperty("ids").EnumerateArray().Select(i => i.GetString()!));
            }
        }
        Assert.Equal(
            Enumerable.Range(1, 300).Select(r => $"{result.JobId}:{r}"),
            ids.Order(StringComparer.Ordinal).OrderBy(i => int.Parse(i[(i.LastIndexOf(':') + 1)..]))
        );
    }

    [Fact]
    public async Task BatchScoring_InProcess_OverTheErrorThreshold_FailsSayingHowMany()
    {
        string csv = Input(100, r => r % 10 == 0 ? $"id-{r},x" + string.Concat(Enumerable.Repeat(",1", 29)) : null);
        var (state, _) = await RunJobAsync(csv, new BatchSettings(ChunkRows: 25, ErrorThreshold: 5));
        Assert.Equal(OrchestrationRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Contains("over the error threshold", state.FailureDetails!.ErrorMessage);
        Assert.Contains("errors.csv", state.FailureDetails.ErrorMessage);
    }
}
