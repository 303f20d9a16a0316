using System.Text;
using System.Text.Json;
using Microsoft.DurableTask;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Training;
using Mlops.Pipelines.Sweeps;
using Mlops.Pipelines.Training;
using Mlops.Registry;
using Mlops.Tracking;
using Stopwatch = System.Diagnostics.Stopwatch;

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
        var recorder = new RunRecorder(blobs);
        if (await new RunArtifacts(blobs).ReadResultAsync(input.RunId, ct) is { } done)
            return done;

        var config = input.Config;
        var trainAll = (
            await services.TrainingData.LoadSplitAsync(
                input.Dataset,
                input.TrainingHashes,
                config.TestFraction,
                config.Seed,
                TrainingData.MaxFeedbackShare(config),
                ct
            )
        ).Train;
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
            int rounds = options.TryGetValue("num_rounds", out var r)
                ? Convert.ToInt32(r, System.Globalization.CultureInfo.InvariantCulture)
                : new Mlops.ML.Gbdt.GbdtOptions().NumRounds;
            pruner = new TrialPruner(
                early,
                new BlobRungBoard(blobs, RunArtifacts.Container, sweepId),
                input.RunId,
                task == MlTask.Regression ? "rmse" : "logloss",
                rounds
            );
            spec = spec with
            {
                Validation = validation,
                ContinueAfterRound = m => pruner.Continue(m.Round, m.Validation),
            };
        }
        var clock = Stopwatch.StartNew();
        var trained = ModelTrainer.Train(train, spec, progress: null, ct);
        double seconds = clock.Elapsed.TotalSeconds;
        // The run records the parameters its trainer read: an auto run that chose linear does not show num_leaves.
        var used = Configuration.TrainerParameters.ReadBy(trained.Trainer.ToString().ToLowerInvariant(), input.Params);
        var report = Evaluator.Evaluate(trained.Model, validation, config.SliceColumn);

        string modelBlob = await recorder.WriteModelAsync(
            input.RunId,
            Encoding.UTF8.GetBytes(trained.Model.ToJson()),
            ct
        );
        string trainer = trained.Trainer.ToString().ToLowerInvariant();
        byte[] paramsJson = await recorder.WriteParametersAsync(
            new RunParameters(
                input.RunId,
                input.Dataset,
                input.TrainingHashes,
                input.Stage,
                config.Task,
                config.Target,
                trainer,
                used,
                config.Seed
            ),
            ct
        );
        byte[] curveJsonl = await recorder.WriteCurveAsync(
            input.RunId,
            trained.Curve.Select(r => new CurvePoint(r.Round, r.Train, r.Validation, r.Elapsed, trained.CurveMetric)),
            ct
        );
        await recorder.WriteEnvironmentAsync(
            input.RunId,
            new RunEnvironment(
                EnvironmentInfo.CodeVersion(),
                EnvironmentInfo.PackageVersions(),
                Environment.MachineName,
                Environment.ProcessorCount,
                System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                seconds,
                train.RowCount,
                validation.RowCount
            ),
            ct
        );

        await Mlops.Tracking.Evaluation.RunEvaluation.WriteAsync(blobs, input.RunId, trained.Model, validation, ct); // ROC/PR/residuals + importance, before the result marks the run done
        var metrics = report.Metrics.ToDictionary(k => k.Key, k => k.Value);
        var result = new TrialResult(
            input.RunId,
            used,
            trainer,
            report.PrimaryMetric,
            report.Primary,
            report.HigherIsBetter,
            metrics,
            seconds,
            modelBlob,
            pruner?.PrunedAtRound is null ? TrialResult.Completed : TrialResult.Pruned,
            pruner?.PrunedAtRound,
            pruner?.Reason,
            config.Sweep?.Objectives is { Count: > 0 } objectives
                ? TrialObjectives.Measure(objectives, metrics, seconds, trained.Model, validation)
                : null
        );
        byte[] resultJson = await recorder.WriteResultAsync(result, ct);
        // The runs table's row, from the documents just written (no read-back).
        await new RunIndex(services.Storage).RecordWrittenAsync(
            input.RunId,
            resultJson,
            paramsJson,
            curveJsonl,
            input.Config.Sweep?.Method,
            ct
        );
        return result;
    }

    private static object ToObject(JsonElement e) =>
        e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String => e.GetString()!,
            _ => e.GetRawText(),
        };
}
