using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Mlops.Pipelines.Launching;

/// <summary>
/// The one instance-id scheme of every orchestration the app starts: <c>{orchestration}-{subject}-{kind}-{key}</c>,
/// for example <c>train-churn-drop-3f2a…</c>, <c>train-churn-sched-20261201T020000</c>,
/// <c>monitor-churn-run-20261201T101500-9c1e…</c>.
/// </summary>
/// <remarks>
/// <para>
/// The id is derived from the event that starts the run, so the same event (a blob delivered twice, a timer tick
/// handled by two hosts, a retried activity) always names the same instance and <see cref="OrchestrationStarts"/>
/// starts it once. Only <see cref="RunKind"/> (on demand) is unique per call: every request is a new event.
/// </para>
/// <para>
/// The subject (a dataset or model name: lower-case letters, digits and single <c>-</c>) may contain hyphens; the kind
/// and the key's fixed shapes (16 hex digits, or a <c>yyyyMMddTHHmmss</c> time) are what <see cref="TryParse"/> splits
/// on. The dashboard's <c>pages/pipelines.ts</c> uses the same pattern.
/// </para>
/// </remarks>
public static partial class InstanceIds
{
    /// <summary>Prefix of training pipeline instances (<c>TrainingPipeline</c>).</summary>
    public const string Training = "train";

    /// <summary>Prefix of monitor run instances (<c>MonitorModel</c>).</summary>
    public const string Monitor = "monitor";

    /// <summary>Kind of a run started by a blob dropped into the incoming container.</summary>
    public const string DropKind = "drop";

    /// <summary>Kind of a run started by the monitoring loop's retraining decision.</summary>
    public const string MonitorKind = "mon";

    /// <summary>Kind of a run started by a schedule's occurrence (timer tick).</summary>
    public const string ScheduleKind = "sched";

    /// <summary>Kind of a run started on demand (HTTP, CLI): unique per call.</summary>
    public const string RunKind = "run";

    private const string TimeFormat = "yyyyMMdd'T'HHmmss";

    [GeneratedRegex(
        @"^(?<prefix>[a-z]+)-(?<subject>.+?)-(?<kind>drop|mon|sched|run)-(?<key>[0-9a-f]{16}|\d{8}T\d{6}(?:-[0-9a-f]+)?)$",
        RegexOptions.CultureInvariant
    )]
    private static partial Regex Pattern();

    /// <summary>
    /// The instance of an event identified by <paramref name="eventKey"/> (hashed: blob name and ETag, a monitor run
    /// id):
    /// <c>{prefix}-{subject}-{kind}-{16 hex digits}</c>.
    /// </summary>
    /// <param name="prefix">The orchestration's prefix (<see cref="Training"/>, <see cref="Monitor"/>, or a new
    /// one).</param>
    /// <param name="subject">The dataset or model the run is about.</param>
    /// <param name="kind">What started it (<see cref="DropKind"/>, <see cref="MonitorKind"/>).</param>
    /// <param name="eventKey">Whatever identifies the event; the same key always gives the same id.</param>
    public static string ForEvent(string prefix, string subject, string kind, string eventKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventKey);
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(eventKey)))[..16];
        return Compose(prefix, subject, kind, hash);
    }

    /// <summary>The instance of a schedule's occurrence: <c>{prefix}-{subject}-sched-{yyyyMMddTHHmmss}</c>
    /// (UTC).</summary>
    public static string ForTick(string prefix, string subject, DateTimeOffset tick) =>
        Compose(prefix, subject, ScheduleKind, tick.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));

    /// <summary>
    /// A new on-demand instance: <c>{prefix}-{subject}-run-{yyyyMMddTHHmmss}-{12 hex digits}</c>. Time first, so
    /// listings sort by start; the random part keeps two requests in the same second apart.
    /// </summary>
    public static string ForManual(string prefix, string subject, DateTimeOffset now) =>
        Compose(
            prefix,
            subject,
            RunKind,
            $"{now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}"
        );

    /// <summary>Splits an id of this scheme into its parts; false for any other id.</summary>
    public static bool TryParse(string instanceId, [NotNullWhen(true)] out InstanceIdParts? parts)
    {
        var m = Pattern().Match(instanceId ?? "");
        parts = m.Success
            ? new InstanceIdParts(
                m.Groups["prefix"].Value,
                m.Groups["subject"].Value,
                m.Groups["kind"].Value,
                m.Groups["key"].Value
            )
            : null;
        return parts is not null;
    }

    private static string Compose(string prefix, string subject, string kind, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        return $"{prefix}-{subject}-{kind}-{key}";
    }
}

/// <summary>The parts of an instance id (see <see cref="InstanceIds"/>).</summary>
/// <param name="Prefix">The orchestration: <c>train</c>, <c>monitor</c>, ….</param>
/// <param name="Subject">The dataset or model.</param>
/// <param name="Kind">What started it: <c>drop</c>, <c>mon</c>, <c>sched</c> or <c>run</c>.</param>
/// <param name="Key">The event's key: a hash, a tick time, or a time and a random part.</param>
public sealed record InstanceIdParts(string Prefix, string Subject, string Kind, string Key);
