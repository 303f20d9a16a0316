using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Pipelines.Scheduling;

namespace Mlops.Functions.Triggers;

/// <summary>One firing of a timer. <see cref="IsPastDue"/> is true for a tick missed while no host was running.</summary>
public sealed record TimerTick(string TimerName, DateTimeOffset ScheduledFor, bool IsPastDue);

/// <summary>The timers the listener runs; set at start-up and changed as datasets' mlops.json schedules change.</summary>
public sealed class TimerRegistry
{
    private readonly ConcurrentDictionary<string, CronSchedule> _timers = new();
    public void Set(string name, CronSchedule? schedule) { if (schedule is null) _timers.TryRemove(name, out _); else _timers[name] = schedule; }
    public IReadOnlyDictionary<string, CronSchedule> Snapshot() => new Dictionary<string, CronSchedule>(_timers);
}

/// <summary>
/// The local timer trigger, with the Functions host's guarantees: one process runs each timer at a time (a blob lease
/// per timer, like the host's singleton lock), each tick is claimed by an ETag-guarded write of the schedule status
/// (so even a lease hand-over cannot run a tick twice), and ticks missed while no host ran fire once at start-up.
/// </summary>
public sealed class TimerTriggerListener(
    StorageServices storage, TimerRegistry timers, string hostId, Func<TimerTick, CancellationToken, Task> handler,
    ILogger<TimerTriggerListener> log, TimeSpan? pollInterval = null) : BackgroundService
{
    public const string Container = "azure-webjobs-hosts";
    public const string StatusTable = "timerstatus";
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (string LeaseId, DateTimeOffset RenewAt)> _leases = new();
    private readonly Dictionary<string, DateTimeOffset> _nextLeaseTry = new();
    private readonly TimeSpan _poll = pollInterval ?? TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await CheckOnceAsync(stoppingToken); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e) { log.LogWarning("Timer check failed, retrying: {Error}", e.Message); }
            try { await Task.Delay(_poll, stoppingToken); } catch (OperationCanceledException) { break; }
        }
        foreach (var (name, lease) in _leases) await storage.Blobs.ReleaseLeaseAsync(Container, LockName(name), lease.LeaseId, CancellationToken.None);
    }

    private string LockName(string timer) => $"locks/{hostId}/{timer}";

    /// <summary>One pass: keep leases, fire due ticks. Public so tests can drive it.</summary>
    public async Task CheckOnceAsync(CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (name, schedule) in timers.Snapshot())
        {
            if (!await HoldLeaseAsync(name, now, cancellationToken)) continue;
            var row = await storage.Tables.GetAsync(StatusTable, hostId, name, cancellationToken);
            if (row is null || row.GetString("Schedule") != schedule.Expression)
            {
                // First sight of this timer (or a changed schedule): start counting from now, nothing is past due yet.
                var fresh = new TableRow(hostId, name) { ["Schedule"] = schedule.Expression, ["Next"] = schedule.Next(now), ["LastUpdated"] = now };
                await storage.Tables.UpsertAsync(StatusTable, fresh, cancellationToken);
                continue;
            }
            var next = row.GetDate("Next") ?? schedule.Next(now);
            if (now < next) continue;
            bool pastDue = now - next > TimeSpan.FromSeconds(Math.Max(30, _poll.TotalSeconds * 5));
            row["Last"] = next;
            row["Next"] = schedule.Next(now); // several missed ticks collapse into one catch-up run
            row["LastUpdated"] = now;
            try { await storage.Tables.ReplaceAsync(StatusTable, row, cancellationToken); }
            catch (StorageConflictException) { continue; } // another process claimed this tick
            log.LogInformation("Timer {Timer} fired for {Tick:o}{PastDue}", name, next, pastDue ? " (past due)" : "");
            try { await handler(new TimerTick(name, next, pastDue), cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException) { log.LogError("Timer {Timer} handler failed (no retry, as Functions timers): {Error}", name, e.Message); }
        }
    }

    private async Task<bool> HoldLeaseAsync(string timer, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_leases.TryGetValue(timer, out var held))
        {
            if (now < held.RenewAt) return true;
            if (await storage.Blobs.RenewLeaseAsync(Container, LockName(timer), held.LeaseId, cancellationToken))
            {
                _leases[timer] = (held.LeaseId, now + LeaseDuration / 3);
                return true;
            }
            _leases.Remove(timer);
        }
        if (_nextLeaseTry.TryGetValue(timer, out var at) && now < at) return false;
        string? id = await storage.Blobs.TryAcquireLeaseAsync(Container, LockName(timer), LeaseDuration, cancellationToken);
        if (id is null) { _nextLeaseTry[timer] = now + TimeSpan.FromSeconds(10); return false; }
        _leases[timer] = (id, now + LeaseDuration / 3);
        return true;
    }
}
