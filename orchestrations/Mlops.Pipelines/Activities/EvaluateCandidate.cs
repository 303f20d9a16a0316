using System.Text.Json;
using Microsoft.DurableTask;
using Mlops.Core;
using Mlops.ML.Metrics;
using Mlops.ML.Models;
using Mlops.Pipelines.Training;
using Mlops.Registry;
using Mlops.Registry.Gate;
using Mlops.Tracking;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Evaluates the chosen candidate and the current production model on the same held-out rows, then applies the
/// promotion gate. A production model that cannot score the new data (its columns changed) does not block the
/// candidate; the reason is recorded.
/// <para>
/// The gate's trusted evidence is held-out rows of accepted dataset versions only: feedback labels come from whoever
/// holds the feedback key, so they can never be what proves a candidate better (a poisoned split once promoted a
/// backdoored model). When the training set holds feedback rows, both models are also scored on held-out feedback
/// rows and the same gate is applied there; the candidate is promoted only when both pass.
/// </para>
/// </summary>
public sealed class EvaluateCandidate(PipelineServices services) : TaskActivity<EvaluateRequest, EvaluationResult>
{
    public override async Task<EvaluationResult> RunAsync(TaskActivityContext context, EvaluateRequest input)
    {
        var ct = CancellationToken.None;
        var config = input.Config;
        double maxFeedbackShare = TrainingData.MaxFeedbackShare(config);
        var split = await services.TrainingData.LoadSplitAsync(
            input.Dataset,
            input.TrainingHashes,
            config.TestFraction,
            config.Seed,
            maxFeedbackShare,
            ct
        );
        var test = split.Test;

        var modelBlob = await services.Storage.Blobs.ReadAsync(RunArtifacts.Container, input.Candidate.ModelBlob, ct)
            ?? throw new InvalidOperationException(
                $"Model of run {input.Candidate.RunId} is missing at runs/{input.Candidate.ModelBlob}."
            );
        var candidate = Model.FromJson(System.Text.Encoding.UTF8.GetString(modelBlob.Data));
        string? slice = config.SliceColumn is { } s && test.Contains(s) ? s : null;
        var candidateReport = Evaluator.Evaluate(candidate, test, slice);

        EvaluationReport? productionReport = null;
        Model? production = null;
        int? productionVersion = null;
        var notes = new List<string>();
        var state = await services.Registry.TryGetStateAsync(input.Dataset, ct);
        if (state is not null && state.Aliases.TryGetValue(ModelRegistry.ProductionAlias, out int prod))
        {
            productionVersion = prod;
            try
            {
                production = Model.FromJson(
                    System.Text.Encoding.UTF8.GetString(
                        await services.Registry.ReadModelFileAsync(input.Dataset, prod, ct)
                    )
                );
                productionReport = Evaluator.Evaluate(production, test, slice);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                notes.Add(
                    $"Production v{prod} could not be evaluated on the new data ({e.Message}); the candidate is judged on its own."
                );
            }
        }

        string metric = config.Gate.Metric ?? candidateReport.PrimaryMetric;
        var gate = new GateOptions
        {
            PrimaryMetric = metric,
            HigherIsBetter = metric == candidateReport.PrimaryMetric ? candidateReport.HigherIsBetter : null,
            MinAbsoluteImprovement = config.Gate.MinImprovement,
            MinRelativeImprovement = config.Gate.MinRelativeImprovement,
            MaxSliceDrop = slice is null ? null : config.Gate.MaxSliceDrop,
        }.Validate();
        var decision = PromotionGate.Decide(
            ToMetrics(candidateReport, test.RowCount),
            productionReport is null ? null : ToMetrics(productionReport, test.RowCount),
            gate
        );
        var trustedReasons = decision.Reasons.Select(r => $"accepted held-out rows ({test.RowCount}): {r}").ToList();

        FeedbackEvaluation? feedback = split.FeedbackTest is { } feedbackTest
            ? EvaluateFeedback(
                candidate,
                production,
                feedbackTest,
                split,
                maxFeedbackShare,
                gate with
                {
                    MaxSliceDrop = null,
                }
            )
            : null;
        if (feedback is null && split.FeedbackRowsOffered > 0)
            notes.Add(
                $"{split.FeedbackRowsOffered} feedback row(s) offered: too few to hold any out, none trained on."
            );
        bool passed = decision.Passed && (feedback?.Passed ?? true);
        IReadOnlyList<string> reasons = [.. trustedReasons, .. feedback?.Reasons ?? []];
        var combined = decision with { Passed = passed, Reasons = [.. notes, .. reasons] };

        return new EvaluationResult(
            input.Candidate.RunId,
            candidateReport.Metrics.ToDictionary(k => k.Key, k => k.Value),
            productionReport?.Metrics.ToDictionary(k => k.Key, k => k.Value),
            productionReport is null ? null : productionVersion,
            passed,
            [.. notes, .. reasons],
            metric,
            JsonSerializer.SerializeToElement(combined, Json.Options),
            candidateReport.Slices.Count == 0
                ? null
                : JsonSerializer.SerializeToElement(candidateReport.Slices, Json.Options),
            feedback
        );
    }

    /// <summary>
    /// Both models on the held-out feedback rows, judged by the same gate (no slices: feedback rows carry only the
    /// model's columns). A candidate that cannot be scored there fails; a production model that cannot does not block.
    /// </summary>
    private static FeedbackEvaluation EvaluateFeedback(
        Model candidate,
        Model? production,
        Mlops.Data.Tabular.DataTable feedbackTest,
        SplitTrainingSet split,
        double maxShare,
        GateOptions gate
    )
    {
        string Prefix(string r) => $"feedback held-out rows ({feedbackTest.RowCount}): {r}";
        var usage =
            $"feedback rows: {split.FeedbackRowsUsed} of {split.FeedbackRowsOffered} trained on (share cap {maxShare:0.##}).";
        EvaluationReport candidateReport;
        try
        {
            candidateReport = Evaluator.Evaluate(candidate, feedbackTest, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new FeedbackEvaluation(
                split.FeedbackRowsOffered,
                split.FeedbackRowsUsed,
                maxShare,
                feedbackTest.RowCount,
                null,
                null,
                false,
                [Prefix($"the candidate could not be scored ({e.Message}); it is not promoted."), usage]
            );
        }
        // One-class feedback (every label a correction the same way) leaves AUC undefined: no evidence either way, so
        // the accepted rows decide alone, and the report says so.
        if (!candidateReport.Metrics.TryGetValue(gate.PrimaryMetric, out double value) || !double.IsFinite(value))
            return new FeedbackEvaluation(
                split.FeedbackRowsOffered,
                split.FeedbackRowsUsed,
                maxShare,
                feedbackTest.RowCount,
                candidateReport.Metrics.Where(m => double.IsFinite(m.Value)).ToDictionary(k => k.Key, k => k.Value),
                null,
                true,
                [
                    Prefix(
                        $"{gate.PrimaryMetric} is undefined on these rows (one class only?); the accepted rows decide alone."
                    ),
                    usage,
                ]
            );
        EvaluationReport? productionReport = null;
        var notes = new List<string>();
        if (production is not null)
        {
            try
            {
                productionReport = Evaluator.Evaluate(production, feedbackTest, null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                notes.Add(Prefix($"production could not be scored ({e.Message})."));
            }
        }
        var decision = PromotionGate.Decide(
            ToMetrics(candidateReport, feedbackTest.RowCount),
            productionReport is null ? null : ToMetrics(productionReport, feedbackTest.RowCount),
            gate
        );
        return new FeedbackEvaluation(
            split.FeedbackRowsOffered,
            split.FeedbackRowsUsed,
            maxShare,
            feedbackTest.RowCount,
            candidateReport.Metrics.ToDictionary(k => k.Key, k => k.Value),
            productionReport?.Metrics.ToDictionary(k => k.Key, k => k.Value),
            decision.Passed,
            [.. decision.Reasons.Select(Prefix), .. notes, usage]
        );
    }

    internal static ModelMetrics ToMetrics(EvaluationReport report, int rows) =>
        new(
            report.Metrics.ToDictionary(k => k.Key, k => k.Value),
            report.Slices.Count == 0
                ? null
                : report.Slices.ToDictionary(
                    s => $"{s.Column}={s.Value}",
                    s => s.Metrics.ToDictionary(k => k.Key, k => k.Value)
                ),
            rows
        );
}
