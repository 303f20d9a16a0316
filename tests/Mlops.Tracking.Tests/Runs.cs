using System.Text.Json;

namespace Mlops.Tracking.Tests;

/// <summary>Builds run records for tests.</summary>
internal static class Runs
{
    public static RunRecord Make(
        string runId,
        object? parameters = null,
        Dictionary<string, double>? metrics = null,
        string status = RunStatus.Completed,
        string? dataset = "bc",
        string? sweepMethod = "random",
        Dictionary<string, CurveSummary>? curves = null
    )
    {
        var (pipeline, trial, rung) = RunIds.Parse(runId);
        var p = parameters is null
            ? new Dictionary<string, JsonElement>()
            : JsonSerializer
                .SerializeToElement(parameters)
                .EnumerateObject()
                .ToDictionary(e => e.Name, e => e.Value.Clone());
        return new RunRecord
        {
            RunId = runId,
            Pipeline = pipeline,
            Trial = trial,
            Rung = rung,
            Dataset = dataset,
            SweepMethod = sweepMethod,
            Status = status,
            Trainer = "gbdt",
            PrimaryMetric = "auc",
            HigherIsBetter = true,
            Params = p,
            Metrics = metrics ?? [],
            Curves = curves ?? [],
            CreatedAt = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero).AddMinutes(trial ?? 0),
        };
    }
}
