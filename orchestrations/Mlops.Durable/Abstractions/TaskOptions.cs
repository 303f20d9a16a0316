namespace Mlops.Durable;

/// <summary>
/// Retry policy for activities and sub-orchestrations. Attempt n (n ≥ 2) waits
/// <c>min(FirstRetryInterval × BackoffCoefficient^(n-2), MaxRetryInterval)</c> on a durable timer.
/// </summary>
/// <param name="MaxAttempts">Total attempts including the first (≥ 1).</param>
/// <param name="FirstRetryInterval">Delay before the second attempt (&gt; 0).</param>
/// <param name="BackoffCoefficient">Multiplier applied to the delay after each failure (≥ 1).</param>
/// <param name="MaxRetryInterval">Cap on a single delay; default 1 hour.</param>
/// <param name="RetryTimeout">Give up when the next attempt would start later than this after the first; default none.</param>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan FirstRetryInterval, double BackoffCoefficient = 1, TimeSpan? MaxRetryInterval = null, TimeSpan? RetryTimeout = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> if a value is out of range.</summary>
    public void Validate()
    {
        if (MaxAttempts < 1) throw new ArgumentException("MaxAttempts must be at least 1.", nameof(MaxAttempts));
        if (FirstRetryInterval <= TimeSpan.Zero) throw new ArgumentException("FirstRetryInterval must be positive.", nameof(FirstRetryInterval));
        if (!(BackoffCoefficient >= 1)) throw new ArgumentException("BackoffCoefficient must be at least 1.", nameof(BackoffCoefficient));
        if (MaxRetryInterval is { } m && m <= TimeSpan.Zero) throw new ArgumentException("MaxRetryInterval must be positive.", nameof(MaxRetryInterval));
        if (RetryTimeout is { } t && t <= TimeSpan.Zero) throw new ArgumentException("RetryTimeout must be positive.", nameof(RetryTimeout));
    }

    /// <summary>Delay before attempt <paramref name="nextAttempt"/> (2-based).</summary>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        double ms = FirstRetryInterval.TotalMilliseconds * Math.Pow(BackoffCoefficient, nextAttempt - 2);
        double cap = (MaxRetryInterval ?? TimeSpan.FromHours(1)).TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Min(ms, cap));
    }
}

/// <summary>Options of one activity or sub-orchestration call.</summary>
/// <param name="Retry">Retry policy; null means a single attempt.</param>
public sealed record TaskOptions(RetryPolicy? Retry = null)
{
    /// <summary>Shorthand for <c>new TaskOptions(new RetryPolicy(...))</c>.</summary>
    public static TaskOptions WithRetry(int maxAttempts, TimeSpan firstRetryInterval, double backoffCoefficient = 1) =>
        new(new RetryPolicy(maxAttempts, firstRetryInterval, backoffCoefficient));
}
