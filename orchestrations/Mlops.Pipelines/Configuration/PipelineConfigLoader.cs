using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Core.Storage;

namespace Mlops.Pipelines.Configuration;

/// <summary>Error in a dataset's mlops.json; the message says exactly what to add or change.</summary>
public sealed class PipelineConfigException(string code, string message) : MlopsException(code, message, 400);

/// <summary>Reads and validates <c>incoming/{dataset}/mlops.json</c>.</summary>
public static class PipelineConfigLoader
{
    public const string IncomingContainer = "incoming";
    public const string ConfigFileName = "mlops.json";
    private static readonly string[] Tasks = ["binary", "multiclass", "regression"];
    private static readonly string[] Trainers = ["auto", "gbdt", "linear", "forest"];

    public static string ConfigBlobName(string dataset) => $"{dataset}/{ConfigFileName}";

    /// <summary>True when <paramref name="blobName"/> (within the incoming container) is a dataset's config
    /// file.</summary>
    public static bool IsConfigBlob(string blobName, out string dataset)
    {
        int slash = blobName.IndexOf('/');
        dataset = slash > 0 ? blobName[..slash] : "";
        return slash > 0 && blobName[(slash + 1)..] == ConfigFileName;
    }

    private static string Example(string? target = null, string? task = null) =>
        $"{{\"target\": \"{target ?? "<label column>"}\", \"task\": \"{task ?? "binary|multiclass|regression"}\"}}";

    public static async Task<PipelineConfig> LoadAsync(
        IBlobStore blobs,
        string dataset,
        CancellationToken cancellationToken = default
    )
    {
        var blob = await blobs.ReadAsync(IncomingContainer, ConfigBlobName(dataset), cancellationToken);
        if (blob is null)
            throw new PipelineConfigException(
                "config.missing",
                $"No configuration for dataset '{dataset}'. Add the blob {IncomingContainer}/{ConfigBlobName(dataset)} containing {Example()}, then drop the data again or call POST /api/pipelines/{dataset}/run."
            );
        return Parse(dataset, blob.Data);
    }

    public static PipelineConfig Parse(string dataset, ReadOnlySpan<byte> json)
    {
        PipelineConfig? config;
        try
        {
            config = Json.Deserialize<PipelineConfig>(json);
        }
        catch (JsonException e)
        {
            throw new PipelineConfigException(
                "config.invalid_json",
                $"{IncomingContainer}/{ConfigBlobName(dataset)} is not valid JSON ({e.Message}). Expected at least {Example()}."
            );
        }
        if (config is null)
            throw new PipelineConfigException(
                "config.invalid_json",
                $"{IncomingContainer}/{ConfigBlobName(dataset)} is empty. Expected at least {Example()}."
            );
        return Validate(dataset, config);
    }

    public static PipelineConfig Validate(string dataset, PipelineConfig c)
    {
        string where = $"{IncomingContainer}/{ConfigBlobName(dataset)}";
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(c.Target))
            problems.Add(
                $"add \"target\": the name of the label column, e.g. {Example(task: string.IsNullOrEmpty(c.Task) ? null : c.Task)}"
            );
        if (string.IsNullOrWhiteSpace(c.Task))
            problems.Add("add \"task\": one of \"binary\", \"multiclass\", \"regression\"");
        else if (!Tasks.Contains(c.Task, StringComparer.OrdinalIgnoreCase))
            problems.Add($"\"task\" is \"{c.Task}\"; use one of \"binary\", \"multiclass\", \"regression\"");
        string trainer = c.Trainer;
        if (!Trainers.Contains(c.Trainer, StringComparer.OrdinalIgnoreCase))
            problems.Add($"\"trainer\" is \"{c.Trainer}\"; use one of \"auto\", \"gbdt\", \"linear\", \"forest\"");
        else
        {
            // A sweep trains the trainer its parameters belong to; no parameter is tuned or recorded for a trainer that
            // ignores it.
            (trainer, var parameterProblems) = TrainerParameters.Resolve(
                c.Trainer.ToLowerInvariant(),
                c.Params?.Keys ?? Enumerable.Empty<string>(),
                c.Sweep?.Parameters.Keys
            );
            problems.AddRange(parameterProblems);
        }
        if (c.TestFraction is <= 0 or >= 1)
            problems.Add($"\"testFraction\" is {c.TestFraction}; use a number between 0 and 1, e.g. 0.2");
        if (c.Mode is not ("replace" or "append"))
            problems.Add($"\"mode\" is \"{c.Mode}\"; use \"replace\" or \"append\"");
        if (c.Approval is not ("auto" or "manual"))
            problems.Add($"\"approval\" is \"{c.Approval}\"; use \"auto\" or \"manual\"");
        if (c.Schedule is { } s && !Mlops.Core.Scheduling.CronSchedule.TryParse(s, out _, out string? why))
            problems.Add(
                $"\"schedule\" \"{s}\" is not a 6-field NCRONTAB expression ({why}); e.g. \"0 0 2 * * *\" for 02:00 UTC daily"
            );
        if (c.Sweep is { } sw)
        {
            if (sw.MaxTrials is < 1 or > 200)
                problems.Add($"\"sweep.maxTrials\" is {sw.MaxTrials}; use 1..200");
            if (sw.Parameters.Count == 0)
                problems.Add("\"sweep.parameters\" is empty; add e.g. {\"learning_rate\": [0.05, 0.1, 0.2]}");
            problems.AddRange(Sweeps.SweepRules.Problems(sw, trainer, c.Params));
        }
        if (Trainers.Contains(c.Trainer, StringComparer.OrdinalIgnoreCase))
            problems.AddRange(TrainingParameterValidator.Problems(c.Trainer, c.Params));
        if (
            !string.IsNullOrWhiteSpace(c.AlertWebhook)
            && Mlops.Data.Alerts.WebhookOptions.FromEnvironment() is var hooks
            && Mlops.Data.Alerts.WebhookUrl.Problem(c.AlertWebhook, hooks.AllowHttp, hooks.AllowLoopbackForTests)
                is { } hook
        )
            problems.Add(hook);
        if (c.Monitoring is { ValueKind: System.Text.Json.JsonValueKind.Object } section)
        {
            try
            {
                Mlops.Monitoring.Policy.MonitoringOptions.Parse(section);
            }
            catch (Mlops.Core.Errors.MlopsException e)
            {
                problems.Add(e.Message);
            }
        }
        if (c.Threshold is not null)
        {
            try
            {
                if (
                    c.ThresholdRule() != Mlops.ML.Training.ThresholdRule.Default
                    && !string.Equals(c.Task, "binary", StringComparison.OrdinalIgnoreCase)
                )
                    problems.Add("\"threshold\" applies to \"task\": \"binary\" only; remove it");
            }
            catch (ArgumentException ex)
            {
                problems.Add(
                    $"\"threshold\" is {c.Threshold}; {ex.Message.Split(" (Parameter")[0]} e.g. \"auto\" or 0.4"
                );
            }
        }
        if (c.Unknown is { Count: > 0 })
            problems.Add(
                $"unknown setting(s) {string.Join(", ", c.Unknown.Keys.Select(k => $"\"{k}\""))}; check the spelling (see README, 'mlops.json')"
            );
        if (problems.Count > 0)
            throw new PipelineConfigException("config.invalid", $"{where}: " + string.Join("; ", problems) + ".");
        return c with { Task = c.Task.ToLowerInvariant(), Trainer = trainer.ToLowerInvariant() };
    }
}
