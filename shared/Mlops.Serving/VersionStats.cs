namespace Mlops.Serving;

/// <summary>
/// Per-version request statistics in one-second buckets over the last hour: requests, failures and requests slower than
/// a threshold. Updates are lock-free and approximate at bucket boundaries, which is fine for rollback decisions.
/// </summary>
internal sealed class VersionStats
{
    private const int Slots = 3601;
    private readonly long[] _second = new long[Slots];
    private readonly int[] _requests = new int[Slots];
    private readonly int[] _errors = new int[Slots];
    private readonly int[] _slow = new int[Slots];
    private readonly long[] _latencyMicros = new long[Slots];

    /// <summary>Latency (ms) above which a request counts as slow; set from the traffic's rollback policy.</summary>
    public double SlowThresholdMs { get; set; } = double.PositiveInfinity;

    public void Record(double latencyMs, bool failed)
    {
        long now = Environment.TickCount64 / 1000;
        int i = (int)(now % Slots);
        if (Volatile.Read(ref _second[i]) != now)
        {
            long old = Volatile.Read(ref _second[i]);
            if (old != now && Interlocked.CompareExchange(ref _second[i], now, old) == old)
            {
                Volatile.Write(ref _requests[i], 0);
                Volatile.Write(ref _errors[i], 0);
                Volatile.Write(ref _slow[i], 0);
                Volatile.Write(ref _latencyMicros[i], 0);
            }
        }
        Interlocked.Increment(ref _requests[i]);
        if (failed)
            Interlocked.Increment(ref _errors[i]);
        if (latencyMs > SlowThresholdMs)
            Interlocked.Increment(ref _slow[i]);
        Interlocked.Add(ref _latencyMicros[i], (long)(latencyMs * 1000));
    }

    /// <summary>Totals over the last <paramref name="seconds"/> seconds.</summary>
    public (long Requests, long Errors, long Slow) Window(int seconds)
    {
        var (requests, errors, slow, _) = WindowWithLatency(seconds);
        return (requests, errors, slow);
    }

    /// <summary>Totals over the last <paramref name="seconds"/> seconds, with the summed latency in
    /// milliseconds.</summary>
    public (long Requests, long Errors, long Slow, double LatencyMs) WindowWithLatency(int seconds)
    {
        long now = Environment.TickCount64 / 1000;
        long requests = 0,
            errors = 0,
            slow = 0,
            micros = 0;
        for (int s = 0; s < Math.Min(seconds, Slots - 1); s++)
        {
            long second = now - s;
            int i = (int)(second % Slots);
            if (Volatile.Read(ref _second[i]) != second)
                continue;
            requests += Volatile.Read(ref _requests[i]);
            errors += Volatile.Read(ref _errors[i]);
            slow += Volatile.Read(ref _slow[i]);
            micros += Volatile.Read(ref _latencyMicros[i]);
        }
        return (requests, errors, slow, micros / 1000.0);
    }
}

/// <summary>One version's live serving numbers in this process (the Models page's traffic split).</summary>
/// <param name="Version">Model version.</param>
/// <param name="Weight">Share of traffic routed to it, in percent (0 for a shadow).</param>
/// <param name="Shadow">True when it receives mirrored requests whose answers are only logged.</param>
/// <param name="Requests">Requests in the window.</param>
/// <param name="Errors">Failed requests in the window.</param>
/// <param name="RequestsPerSecond">Requests divided by the window.</param>
/// <param name="ErrorRate">Errors divided by requests (0 without requests).</param>
/// <param name="MeanLatencyMs">Mean latency in milliseconds; null without requests.</param>
public sealed record VersionTraffic(
    int Version,
    int Weight,
    bool Shadow,
    long Requests,
    long Errors,
    double RequestsPerSecond,
    double ErrorRate,
    double? MeanLatencyMs
)
{
    internal static VersionTraffic Of(LoadedVersion loaded, int weight, bool shadow, int seconds)
    {
        var (requests, errors, _, latencyMs) = loaded.Stats.WindowWithLatency(seconds);
        return new VersionTraffic(
            loaded.Version,
            weight,
            shadow,
            requests,
            errors,
            requests / (double)Math.Max(1, seconds),
            requests == 0 ? 0 : errors / (double)requests,
            requests == 0 ? null : latencyMs / requests
        );
    }
}
