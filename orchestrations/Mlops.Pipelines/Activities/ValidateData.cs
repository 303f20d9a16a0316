using Microsoft.DurableTask;
using Mlops.Core.Errors;
using Mlops.Data.Validation;
using Mlops.Data.Versions;
using Mlops.Pipelines.Training;
using ValidationResult = Mlops.Pipelines.Training.ValidationResult;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// The validation gate of a run: decides from the data version's validation report whether the run may train on it.
/// The checks themselves (schema, ranges, label balance, drift, trainability) run once per content hash when the
/// version is ingested — the dataset store must decide there whether the bytes go to <c>datasets/</c> or
/// <c>quarantine/</c>, and a second run of them here could only repeat that verdict. What this step owns is the
/// decision: a quarantined version stops the run, and a version without a report was never validated, which is an
/// error, never a pass. Rejected versions are already quarantined with their report by the dataset store; the run sends
/// the alert.
/// </summary>
public sealed class ValidateData(PipelineServices services) : TaskActivity<ValidateRequest, ValidationResult>
{
    /// <inheritdoc />
    public override async Task<ValidationResult> RunAsync(TaskActivityContext context, ValidateRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var report = await services.Datasets.GetReportAsync(input.Dataset, input.DataHash, CancellationToken.None)
            ?? throw new MlopsException(
                "validation.report_missing",
                $"Data version {input.DataHash} of '{input.Dataset}' has no validation report "
                    + $"(datasets/{DatasetStore.ValidationBlobName(input.Dataset, input.DataHash)}), so it was never validated and "
                    + "is not trained on. Drop the file again to ingest and validate it."
            );
        int errors = report.Anomalies.Count(a => a.Severity == Severity.Error);
        int warnings = report.Anomalies.Count(a => a.Severity == Severity.Warning);
        bool passed = report.Outcome != ValidationOutcome.Quarantined;
        string location =
            $"{(passed ? "datasets" : "quarantine")}/{DatasetStore.ValidationBlobName(input.Dataset, input.DataHash)}";
        bool alertOnWarning =
            report.Outcome == ValidationOutcome.Warning
            && IngestData.ParseValidation(input.Config.Validation)?.AlertOnWarning == true;
        return new ValidationResult(
            report.Outcome.ToString().ToLowerInvariant(),
            passed,
            report.ToSummary(),
            errors,
            warnings,
            location,
            alertOnWarning
        );
    }
}
