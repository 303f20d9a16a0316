using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Storage.Blobs;

namespace Mlops.Host.Triggers;

/// <summary>
/// A timer's persisted schedule status, the Timer extension's ScheduleStatus: the last run, the next expected one and
/// when either was last computed (local times; <see cref="DateTime.MinValue"/> for "never").
/// </summary>
public sealed record ScheduleStatus(DateTime Last, DateTime Next, DateTime LastUpdated)
{
    /// <summary>
    /// The JSON shape of TimerInfo the real host sends (Newtonsoft-serialized Microsoft.Azure.WebJobs.TimerInfo:
    /// <c>{"Schedule":{"AdjustForDST":...},"ScheduleStatus":{"Last":...,"Next":...,"LastUpdated":...},"IsPastDue":...}</c>), which the
    /// worker's TimerInfoConverter (Worker.Extensions.Timer 4.3.1) reads case-insensitively into its TimerInfo.
    /// </summary>
    public static string TimerInfoJson(TimerSchedule schedule, ScheduleStatus? status, bool isPastDue)
    {
        var json = new JsonObject
        {
            ["Schedule"] = new JsonObject { ["AdjustForDST"] = schedule.AdjustForDst },
            ["ScheduleStatus"] = status?.ToJson(),
            ["IsPastDue"] = isPastDue,
        };
        return json.ToJsonString();
    }

    /// <summary>The status as the host's status blob holds it (ISO dates with the local offset, as Newtonsoft writes
    /// them).</summary>
    public JsonObject ToJson() =>
        new()
        {
            ["Last"] = Format(Last),
            ["Next"] = Format(Next),
            ["LastUpdated"] = Format(LastUpdated),
        };

    /// <summary>Reads a status blob's JSON; null when it is not a status (then the timer starts afresh, as for a new
    /// timer).</summary>
    public static ScheduleStatus? FromJson(string text)
    {
        try
        {
            var node = JsonNode.Parse(text) as JsonObject;
            if (node is null)
                return null;
            return new ScheduleStatus(ReadDate(node, "Last"), ReadDate(node, "Next"), ReadDate(node, "LastUpdated"));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static DateTime ReadDate(JsonObject node, string name)
    {
        string? text = node[name]?.GetValue<string>();
        if (string.IsNullOrEmpty(text))
            return DateTime.MinValue;
        var parsed = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal);
        // default(DateTime) written with an offset parses to a DateTimeOffset near year 1: keep it as "never".
        return parsed.Year <= 1 ? DateTime.MinValue : parsed.LocalDateTime;
    }

    private static string Format(DateTime local)
    {
        if (local == DateTime.MinValue)
            return "0001-01-01T00:00:00";
        return DateTime
            .SpecifyKind(local, DateTimeKind.Local)
            .ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK", CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// The Timer extension's storage schedule monitor (WebJobs.Extensions.Timers.Storage 1.0.0: StorageScheduleMonitor):
/// one blob per timer at <c>azure-webjobs-hosts/timers/{hostId}/{timerName}/status</c>, overwritten after every run.
/// </summary>
public sealed class ScheduleStatusStore(BlobContainerClient hostsContainer, string hostId)
{
    /// <summary>The status blob's name for a timer (timer name: <c>Host.Functions.{FunctionName}</c>).</summary>
    public string BlobName(string timerName) => $"timers/{hostId}/{timerName}/status";

    /// <summary>The stored status, or null when none was recorded yet (or it is unreadable).</summary>
    public async Task<ScheduleStatus?> GetAsync(string timerName, CancellationToken cancellationToken = default)
    {
        try
        {
            var content = await hostsContainer
                .GetBlobClient(BlobName(timerName))
                .DownloadContentAsync(cancellationToken);
            return ScheduleStatus.FromJson(content.Value.Content.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Overwrites the stored status.</summary>
    public async Task SetAsync(string timerName, ScheduleStatus status, CancellationToken cancellationToken = default)
    {
        await hostsContainer.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var data = BinaryData.FromBytes(Encoding.UTF8.GetBytes(status.ToJson().ToJsonString()));
        await hostsContainer.GetBlobClient(BlobName(timerName)).UploadAsync(data, overwrite: true, cancellationToken);
    }
}
