using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mlops.Serving;

/// <summary>
/// The serving heartbeat: every <see cref="ServingOptions.PollInterval"/> it re-reads the serving-state row of each
/// served model (hot swap), checks canaries against their automatic-rollback policy, and every 10 s logs the
/// bad-request rate.
/// </summary>
public sealed class ServingBackgroundService(
    ServingRuntime runtime,
    ServingOptions options,
    ILogger<ServingBackgroundService> logger,
    IEnumerable<IServingEvents> events
) : BackgroundService
{
    private long _lastBad,
        _lastRequests;
    private DateTime _lastReport = DateTime.UtcNow;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.PollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await runtime.RefreshAllAsync(stoppingToken).ConfigureAwait(false);
                await CheckCanariesAsync(stoppingToken).ConfigureAwait(false);
                ReportRates();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Serving heartbeat failed; retrying next tick.");
            }
        }
    }

    /// <summary>Rolls back any canary whose error rate or p99 latency breaks its policy. Public for tests and manual
    /// triggering.</summary>
    public async Task CheckCanariesAsync(CancellationToken cancellationToken = default)
    {
        foreach (string model in runtime.ServedModels)
        {
            var router = await runtime.GetRouterAsync(model, cancellationToken).ConfigureAwait(false);
            var snapshot = router?.Snapshot;
            if (snapshot?.State.Traffic?.AutoRollback is not { } policy)
                continue;
            int? production = snapshot.State.Production;
            foreach (var canary in snapshot.RouteModels.Where(m => m.Version != production))
            {
                var (requests, errors, slow) = canary.Stats.Window(policy.WindowSeconds);
                if (requests < policy.MinRequests)
                    continue;
                var reasons = new List<string>();
                double errorRate = (double)errors / requests,
                    slowShare = (double)slow / requests;
                if (policy.MaxErrorRate is double maxErr && errorRate > maxErr)
                    reasons.Add(
                        string.Create(CultureInfo.InvariantCulture, $"error rate {errorRate:P1} > {maxErr:P1}")
                    );
                if (policy.MaxP99LatencyMs is double maxMs && slowShare > 0.01)
                    reasons.Add(
                        string.Create(
                            CultureInfo.InvariantCulture,
                            $"p99 latency > {maxMs} ms ({slowShare:P1} of requests slower)"
                        )
                    );
                if (reasons.Count == 0)
                    continue;
                string reason =
                    $"automatic rollback of canary v{canary.Version}: {string.Join(", ", reasons)} over {requests} requests in the last {policy.WindowSeconds}s";
                var entry = await runtime
                    .Registry.AutoRollbackAsync(
                        model,
                        canary.Version,
                        reason,
                        $"serving:{options.HostId}",
                        cancellationToken
                    )
                    .ConfigureAwait(false);
                if (entry is not null)
                {
                    runtime.Metrics.AutoRollbacks.Increment();
                    logger.LogWarning("Model {Model}: {Reason}.", model, reason);
                    foreach (var observer in events)
                    {
                        try
                        {
                            await observer
                                .AutoRolledBackAsync(model, canary.Version, reason, cancellationToken)
                                .ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            logger.LogWarning(e, "A serving-event observer failed on the rollback of {Model}.", model);
                        }
                    }
                }
                await runtime.RefreshAsync(model, cancellationToken).ConfigureAwait(false);
                break;
            }
        }
    }

    private void ReportRates()
    {
        var now = DateTime.UtcNow;
        if (now - _lastReport < TimeSpan.FromSeconds(10))
            return;
        long bad = runtime.Metrics.BadRequests.Value,
            requests = runtime.Metrics.Requests.Value;
        long dBad = bad - _lastBad,
            dReq = requests - _lastRequests;
        double seconds = (now - _lastReport).TotalSeconds;
        if (dBad > 0)
            logger.LogWarning(
                "Serving: {BadPerSecond:F1} bad requests/s ({Share:P1} of {Requests} requests) in the last {Seconds:F0}s.",
                dBad / seconds,
                dReq == 0 ? 0 : (double)dBad / dReq,
                dReq,
                seconds
            );
        _lastBad = bad;
        _lastRequests = requests;
        _lastReport = now;
    }
}
