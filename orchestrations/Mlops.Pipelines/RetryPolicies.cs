using Microsoft.DurableTask;

namespace Mlops.Pipelines;

/// <summary>
/// The retry policies of every orchestration's activity calls, in one place and by name: pass one as the
/// <see cref="TaskOptions"/> of <c>CallActivityAsync</c>. Activities are at-least-once and idempotent, so a retry is
/// always safe; what differs is how long the thing behind the activity may stay away.
/// </summary>
public static class RetryPolicies
{
    /// <summary>
    /// Steps that read and write the storage account (ingest, train, register, monitor steps): 4 attempts, 1 s doubling
    /// up to 30 s, about 7 s in all. Storage hiccups pass in seconds; user errors are returned as results (or fail the
    /// run with their message after these few seconds), never retried for long.
    /// </summary>
    public static readonly TaskOptions Storage = TaskOptions.FromRetryPolicy(
        new RetryPolicy(4, TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(30))
    );

    /// <summary>
    /// Alert delivery to a receiver outside the app (a webhook): 8 attempts, 5 s doubling up to 10 min, about half an
    /// hour in all, so a receiver that is down for a while still gets the alert.
    /// </summary>
    public static readonly TaskOptions Alert = TaskOptions.FromRetryPolicy(
        new RetryPolicy(8, TimeSpan.FromSeconds(5), 2, TimeSpan.FromMinutes(10))
    );
}
