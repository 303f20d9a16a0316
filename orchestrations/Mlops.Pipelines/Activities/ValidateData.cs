using Mlops.Data.Validation;
using Microsoft.DurableTask;
using Mlops.Pipelines.Training;
using ValidationResult = Mlops.Pipelines.Training.ValidationResult;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Reads the validation report made when the version was ingested and decides whether the run may train on it.
/// Rejected versions are already quarantined with their report (and the alert sent) by the dataset store.
/// </summary>
public sealed class ValidateData(PipelineServices services) : TaskActivity<ValidateRequest, ValidationResult>
{
    public override async Task<ValidationResult> RunAsync(TaskActivityContext context, ValidateRequest input)
    {
        var report = await services.Datasets.GetReportAsync(input.Dataset, input.DataHash, CancellationToken.None);
        if (report is null) return new ValidationResult("unknown", true, "No validation report was stored for this version.", 0, 0, null);
        int errors = report.Anomalies.Count(a => a.Severity == Severity.Error);
        int warnings = report.Anomalies.Count(a => a.Severity == Severity.Warning);
        bool passed = report.Outcome != ValidationOutcome.Quarantined;
        string location = passed ? $"datasets/{input.Dataset}/{input.DataHash}/validation.json" : $"quarantine/{input.Dataset}/{input.DataHash}/validation.json";
        return new ValidationResult(report.Outcome.ToString().ToLowerInvariant(), passed, report.ToSummary(), errors, warnings, location);
    }
}
