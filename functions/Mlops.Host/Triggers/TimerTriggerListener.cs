using Azure.Storage.Blobs;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;

namespace Mlops.Host.Triggers;

/// <summary>
/// Timer triggers as the Timer extension runs them (azure-webjobs-sdk-extensions 5.1.0 TimerListener): each timer is a
/// listener singleton across hosts (lease on <c>locks/{hostId}/Host.Functions.{Name}.Listener</c>); when its listener
/// starts it reads the stored status, fires once at once with IsPastDue when the stored Next has passed (several missed
/// occurrences give one run), else once if runOnStartup; then it fires on schedule and stores Last/Next/LastUpdated
/// after each run. A failing run is logged and the schedule goes on (no retry). Disabled functions
/// (<c>AzureWebJobs.{Name}.Disabled</c>) and functions whose schedule is empty or invalid are not started; the others
/// run.
/// </summary>
public sealed class TimerTriggerListener(
    IWorkerInvoker invoker,
    HostContext context,
    TriggerOptions options,
    ILogger<TimerTriggerListener> log
) : TriggerListener<TimerTriggerFunction>(invoker)
{
    private readonly string _owner = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        var hosts = new BlobServiceClient(context.StorageConnectionString).GetBlobContainerClient(
            BlobTriggerListener.HostsContainer
        );
        var store = new ScheduleStatusStore(hosts, context.HostId);
        await Task.WhenAll(Functions.Select(t => RunTimerAsync(t, hosts, store, stoppingToken)));
    }

    /// <inheritdoc />
    protected override IReadOnlyList<TimerTriggerFunction> LoadFunctions()
    {
        var settings = TriggerServices.CreateSettings(options, context);
        var result = new List<TimerTriggerFunction>();
        foreach (
            var function in Invoker.Functions.Where(f =>
                f.TriggerType.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase)
            )
        )
        {
            if (settings.IsFunctionDisabled(function.Name))
            {
                log.LogInformation(
                    "Function '{Function}' is disabled (AzureWebJobs.{Function}.Disabled); its timer does not run.",
                    function.Name,
                    function.Name
                );
                continue;
            }
            try
            {
                var timer = TimerTriggerFunction.Create(function, settings);
                result.Add(timer);
                log.LogInformation(
                    "Timer {Function}: '{Schedule}', next {Next:o}{Monitor}",
                    function.Name,
                    timer.Schedule.Expression,
                    timer.Schedule.GetNextOccurrence(DateTime.Now),
                    timer.UseMonitor ? "" : " (no schedule status: fires more than once a minute)"
                );
            }
            catch (InvalidOperationException e)
            {
                FunctionErrors[function.Name] = e.Message;
                log.LogError("{Error} The function stays off; the other functions run.", e.Message);
            }
        }
        return result;
    }

    private async Task RunTimerAsync(
        TimerTriggerFunction timer,
        BlobContainerClient hosts,
        ScheduleStatusStore store,
        CancellationToken cancellationToken
    )
    {
        var singleton = new SingletonLock(
            hosts,
            context.HostId,
            timer.TimerName + ".Listener",
            options.ListenerLockPeriod,
            _owner
        );
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                bool held;
                try
                {
                    held = await singleton.TryHoldAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    log.LogWarning(
                        "Timer {Function}: could not take its listener lock: {Error}",
                        timer.Function.Name,
                        e.Message
                    );
                    held = false;
                }
                if (held)
                {
                    try
                    {
                        await ListenWhileHoldingAsync(timer, singleton, store, cancellationToken);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }
                    catch (Exception e)
                    {
                        log.LogWarning(
                            "Timer {Function} listener stopped, restarting: {Error}",
                            timer.Function.Name,
                            e.Message
                        );
                    }
                    continue;
                }
                try
                {
                    await Task.Delay(options.ListenerLockRecoveryInterval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            await singleton.ReleaseAsync(CancellationToken.None);
        }
    }

    // Runs the timer until the lock is lost (returns) or the host stops (throws OperationCanceledException).
    private async Task ListenWhileHoldingAsync(
        TimerTriggerFunction timer,
        SingletonLock singleton,
        ScheduleStatusStore store,
        CancellationToken cancellationToken
    )
    {
        var now = DateTime.Now;
        ScheduleStatus status;
        bool pastDue = false;
        if (timer.UseMonitor)
        {
            var stored = await store.GetAsync(timer.TimerName, cancellationToken);
            var check = TimerTriggerFunction.CheckPastDue(stored, now, timer.Schedule);
            status = check.Status;
            pastDue = check.PastDue > TimeSpan.Zero;
            if (check.Changed)
                await TryStoreAsync(timer, store, status, cancellationToken);
        }
        else
            status = new ScheduleStatus(DateTime.MinValue, timer.Schedule.GetNextOccurrence(now), DateTime.MinValue);

        bool startup = !pastDue && timer.RunOnStartup;
        while (true)
        {
            if (!pastDue && !startup)
            {
                // Wait for the next occurrence in short steps so the lock is renewed and a lost lock stops us promptly.
                while (DateTime.Now < status.Next)
                {
                    var remaining = status.Next - DateTime.Now;
                    if (remaining > TimeSpan.FromSeconds(1))
                        remaining = TimeSpan.FromSeconds(1);
                    if (remaining > TimeSpan.Zero)
                        await Task.Delay(remaining, cancellationToken);
                    if (!await singleton.TryHoldAsync(cancellationToken))
                        return;
                }
            }
            else if (!await singleton.TryHoldAsync(cancellationToken))
                return;

            var invokedAt = DateTime.Now;
            if (pastDue)
                log.LogInformation(
                    "Timer {Function} is past due (scheduled {Next:o}); running now.",
                    timer.Function.Name,
                    status.Next
                );
            await InvokeAsync(timer, status, pastDue, cancellationToken);

            // A run that fired a little early (clock skew) counts from its scheduled time, so Next never repeats.
            DateTime basis = !pastDue && !startup && status.Next > invokedAt ? status.Next : invokedAt;
            status = new ScheduleStatus(basis, timer.Schedule.GetNextOccurrence(basis), basis);
            if (timer.UseMonitor)
                await TryStoreAsync(timer, store, status, cancellationToken);
            pastDue = startup = false;
        }
    }

    private async Task InvokeAsync(
        TimerTriggerFunction timer,
        ScheduleStatus status,
        bool pastDue,
        CancellationToken cancellationToken
    )
    {
        try
        {
            var response = await Invoker.InvokeAsync(
                timer.Function,
                timer.CreateInvocation(status, pastDue),
                cancellationToken
            );
            if (response.Result?.Status != StatusResult.Types.Status.Success)
                log.LogError(
                    "Timer {Function} failed (the schedule goes on): {Error}",
                    timer.Function.Name,
                    response.Result?.Exception?.Message ?? $"status {response.Result?.Status}"
                );
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            log.LogError(
                "Timer {Function} could not be invoked (the schedule goes on): {Error}",
                timer.Function.Name,
                e.Message
            );
        }
    }

    // Best effort, as the real monitor: a status that cannot be written only loses a possible catch-up run.
    private async Task TryStoreAsync(
        TimerTriggerFunction timer,
        ScheduleStatusStore store,
        ScheduleStatus status,
        CancellationToken cancellationToken
    )
    {
        try
        {
            await store.SetAsync(timer.TimerName, status, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(
                "Timer {Function}: could not store its schedule status: {Error}",
                timer.Function.Name,
                e.Message
            );
        }
    }
}
