using System.Text.Json;
using Mlops.Core;
using Microsoft.DurableTask;
using Mlops.ML.Metrics;
using Mlops.ML.Models;
using Mlops.Pipelines.Training;
using Mlops.Registry;
using Mlops.Registry.Gate;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Evaluates the chosen candidate and the current production model on the same held-out rows, then applies the
/// promotion gate. A production model that cannot score the new data (its columns changed) does not block the
/// candidate; the reason is recorded.
/// </summary>
public sealed class EvaluateCandidate(PipelineServices services) : TaskActivity<EvaluateRequest, EvaluationResult>
{
    public override async Task<EvaluationResult> RunAsync(TaskActivityContext context, EvaluateRequest input)
    {
        var ct = CancellationToken.None;
        var config = input.Config;
        var table = await services.TrainingData.LoadAsync(input.Dataset, input.TrainingHashes, ct);
        var (_, test) = TrainingData.Split(table, config.TestFraction, config.Seed);

        var modelBlob = await services.Storage.Blobs.ReadAsync(PipelineServices.RunsContainer, input.Candidate.ModelBlob, ct)
                        ?? throw new InvalidOperationException($"Model of run {input.Candidate.RunId} is missing at runs/{input.Candidate.ModelBlob}.");
        var candidate = Model.FromJson(System.Text.Encoding.UTF8.GetString(modelBlob.Data));
        string? slice = config.SliceColumn is { } s && test.Contains(s) ? s : null;
        var candidateReport = Evaluator.Evaluate(candidate, test, slice);

        EvaluationReport? productionReport = null;
        int? productionVersion = null;
        var notes = new List<string>();
        var state = await services.Registry.TryGetStateAsync(input.Dataset, ct);
        if (state is not null && state.Aliases.TryGetValue("production", out int prod))
        {
            productionVersion = prod;
            try
            {
                var production = Model.FromJson(System.Text.Encoding.UTF8.GetString(await services.Registry.ReadModelFileAsync(input.Dataset, prod, ct)));
                productionReport = Evaluator.Evaluate(production, test, slice);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                notes.Add($"Production v{prod} could not be evaluated on the new data ({e.Message}); the candidate is judged on its own.");
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
        var decision = PromotionGate.Decide(ToMetrics(candidateReport, test.RowCount), productionReport is null ? null : ToMetrics(productionReport, test.RowCount), gate);

        return new EvaluationResult(input.Candidate.RunId,
            candidateReport.Metrics.ToDictionary(k => k.Key, k => k.Value),
            productionReport?.Metrics.ToDictionary(k => k.Key, k => k.Value),
            productionReport is null ? null : productionVersion,
            decision.Passed, [.. notes, .. decision.Reasons], metric,
            JsonSerializer.SerializeToElement(decision, Json.Options),
            candidateReport.Slices.Count == 0 ? null : JsonSerializer.SerializeToElement(candidateReport.Slices, Json.Options));
    }

    internal static ModelMetrics ToMetrics(EvaluationReport report, int rows) => new(
        report.Metrics.ToDictionary(k => k.Key, k => k.Value),
        report.Slices.Count == 0 ? null : report.Slices.ToDictionary(s => $"{s.Column}={s.Value}", s => s.Metrics.ToDictionary(k => k.Key, k => k.Value)),
        rows);
}
