using Stopwatch = System.Diagnostics.Stopwatch;
using System.Text;
using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Storage;
using Microsoft.DurableTask;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Mlops.Pipelines.Sweeps;
using Mlops.Pipelines.Training;
using Mlops.Registry;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Trains one trial and records it as a tracked run under <c>runs/{runId}/</c>: params, metric curve, validation
/// metrics, environment and the model file. The trial is scored on a validation split carved from the training rows
/// (never the held-out test rows the gate uses). Idempotent: a run whose result exists is returned as stored.
/// <para>
/// With the sweep's early termination on, the trial posts its best validation loss at each check round to the sweep's
/// rung board and stops training when it is behind; the partly trained model is still evaluated and recorded, with
/// <c>status: pruned</c>, the round and the reason in <c>result.json</c>.
/// </para>
/// </summary>
public sealed class TrainCandidate(PipelineServices services) : TaskActivity<TrialRequest, TrialResult>
{
    public override async Task<TrialResult> RunAsync(TaskActivityContext context, TrialRequest input)
    {
        var ct = CancellationToken.None;
        var blobs = services.Storage.Blobs;
        string prefix = $"{input.RunId}/";
        if (await blobs.ReadAsync(PipelineServices.RunsContainer, prefix + "result.json", ct) is { } done)
            return Json.Deserialize<TrialResult>(done.Data)!;

        var config = input.Config;
        var table = await services.TrainingData.LoadAsync(input.Dataset, input.TrainingHashes, ct);
        var (trainAll, _) = TrainingData.Split(table, config.TestFraction, config.Seed);
        var (train, validation) = TrainingData.Split(trainAll, 0.2, config.Seed + 1);

        var task = Enum.Parse<MlTask>(config.Task, ignoreCase: true);
        var options = input.Params.ToDictionary(p => p.Key, p => ToObject(p.Value));
        var spec = new TrainingSpec(config.Target, task)
        {
            Trainer = Enum.Parse<TrainerKind>(config.Trainer, ignoreCase: true),
            Options = options,
            Seed = config.Seed,
            Threshold = config.ThresholdRule(),
        };
        TrialPruner? pruner = null;
        if (config.Sweep?.EarlyTerminate is { } early && input.SweepId is { } sweepId)
        {
            // Rungs compare validation loss per round, so the trial's validation rows feed the curve.
            int rounds = options.TryGetValue("num_rounds", out var r) ? Convert.ToInt32(r, System.Globalization.CultureInfo.InvariantCulture) : new Mlops.ML.Gbdt.GbdtOptions().NumRounds;
            pruner = new TrialPruner(early, new BlobRungBoard(blobs, PipelineServices.RunsContainer, sweepId), input.RunId, task == MlTask.Regression ? "rmse" : "logloss", rounds);
            spec = spec with { Validation = validation, ContinueAfterRound = m => pruner.Continue(m.Round, m.Validation) };
        }
        var clock = Stopwatch.StartNew();
        var trained = ModelTrainer.Train(train, spec, progress: null, ct);
        double seconds = clock.Elapsed.TotalSeconds;
        var report = Evaluator.Evaluate(trained.Model, validation, config.SliceColumn);

        byte[] modelBytes = Encoding.UTF8.GetBytes(trained.Model.ToJson());
        string modelBlob = prefix + "model.json";
        await blobs.WriteAsync(PipelineServices.RunsContainer, modelBlob, modelBytes, cancellationToken: ct);
        byte[] paramsJson = Json.SerializeToUtf8(new
        {
            runId = input.RunId, dataset = input.Dataset, dataVersions = input.TrainingHashes, stage = input.Stage,
            task = config.Task, target = config.Target, trainer = trained.Trainer.ToString().ToLowerInvariant(), requested = input.Params, seed = config.Seed,
        }, indented: true);
        await blobs.WriteAsync(PipelineServices.RunsContainer, prefix + "params.json", paramsJson, cancellationToken: ct);
        var curve = new StringBuilder();
        foreach (var r in trained.Curve) curve.Append(Json.Serialize(new { round = r.Round, train = r.Train, validation = r.Validation, metric = trained.CurveMetric, elapsed = r.Elapsed })).Append('\n');
        byte[] curveJsonl = Encoding.UTF8.GetBytes(curve.ToString());
        await blobs.WriteAsync(PipelineServices.RunsContainer, prefix + "metrics.jsonl", curveJsonl, cancellationToken: ct);
        await blobs.WriteAsync(PipelineServices.RunsContainer, prefix + "env.json", Json.SerializeToUtf8(new
        {
            codeVersion = EnvironmentInfo.CodeVersion(), packages = EnvironmentInfo.PackageVersions(), machine = Environment.MachineName,
            cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, trainSeconds = seconds,
            trainRows = train.RowCount, validationRows = validation.RowCount,
        }, indented: true), cancellationToken: ct);

        await Mlops.Tracking.Evaluation.RunEvaluation.WriteAsync(blobs, input.RunId, trained.Model, validation, ct); // ROC/PR/residuals + importance, before the result marks the run done
        var metrics = report.Metrics.ToDictionary(k => k.Key, k => k.Value);
        var result = new TrialResult(input.RunId, input.Params, trained.Trainer.ToString().ToLowerInvariant(), report.PrimaryMetric, report.Primary, report.HigherIsBetter,
            metrics, seconds, modelBlob,
            pruner?.PrunedAtRound is null ? TrialResult.Completed : TrialResult.Pruned, pruner?.PrunedAtRound, pruner?.Reason,
            config.Sweep?.Objectives is { Count: > 0 } objectives ? TrialObjectives.Measure(objectives, metrics, seconds, trained.Model, validation) : null);
        byte[] resultJson = Json.SerializeToUtf8(result, indented: true);
        await blobs.WriteAsync(PipelineServices.RunsContainer, prefix + "result.json", resultJson, cancellationToken: ct);
        // The runs table's row, from the documents just written (no read-back).
        await new Mlops.Tracking.RunIndex(services.Storage).RecordWrittenAsync(input.RunId, resultJson, paramsJson, curveJsonl, input.Config.Sweep?.Method, ct);
        return result;
    }

    private static object ToObject(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString()!,
        _ => e.GetRawText(),
    };
}
