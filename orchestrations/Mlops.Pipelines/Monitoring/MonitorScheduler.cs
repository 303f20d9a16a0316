using Mlops.Core.Scheduling;
using Mlops.Monitoring;
using Mlops.Monitoring.Policy;

namespace Mlops.Pipelines.Monitoring;

/// <summary>Starts the run of one schedule tick; <see cref="DurableMonitorLauncher"/> is the durable implementation
/// (idempotent per tick).</summary>
public interface IScheduledMonitorLauncher
{
    /// <summary>Starts (or finds) the run of <paramref name="model"/> for <paramref name="tick"/>; returns its run
    /// id.</summary>
    Task<string> StartScheduledAsync(string model, DateTimeOffset tick, CancellationToken cancellationToken = default);
}

/// <summary>
/// The per-model monitor timer: on each host timer tick (say every minute), every served model whose
/// <c>monitoring.schedule</c> had an occurrence in (previous tick, now] gets one run for its latest occurrence. Missed
/// occurrences collapse into one (a host that was down for a day runs one monitor per model, not 24), and because the
/// run id is derived from the occurrence, two hosts ticking at once start it once.
/// </summary>
public sealed class MonitorScheduler(IMonitoringSource source, IScheduledMonitorLauncher launcher)
{
    /// <summary>Starts the due runs among <paramref name="models"/>; returns (model, run id) for each started or found
    /// run.</summary>
    /// <param name="models">Candidate models (e.g. the registry's models).</param>
    /// <param name="previous">Previous timer tick (exclusive).</param>
    /// <param name="now">This tick (inclusive).</param>
    /// <param name="cancellationToken">Cancels the tick.</param>
    public async Task<IReadOnlyList<(string Model, string RunId)>> TickAsync(
        IEnumerable<string> models,
        DateTimeOffset previous,
        DateTimeOffset now,
        CancellationToken cancellationToken = default
    )
    {
        var started = new List<(string, string)>();
        foreach (var model in models)
        {
            if (await source.GetServingVersionAsync(model, cancellationToken).ConfigureAwait(false) is null)
                continue;
            MonitoringOptions options;
            try
            {
                options = await source.GetOptionsAsync(model, cancellationToken).ConfigureAwait(false);
            }
            catch (MonitoringException)
            {
                continue;
            } // an invalid section is reported by POST /monitor and the run; the timer skips it
            if (CronSchedule.Parse(options.Schedule).LatestIn(previous, now) is { } tick)
                started.Add(
                    (model, await launcher.StartScheduledAsync(model, tick, cancellationToken).ConfigureAwait(false))
                );
        }
        return started;
    }
}
