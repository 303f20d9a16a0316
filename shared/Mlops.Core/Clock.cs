namespace Mlops.Core;

/// <summary>Time source, replaceable in tests. Orchestrators never use it (they use replay-safe time).</summary>
public interface IClock
{
    DateTimeOffset UtcNow { get; }
}

public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();
    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow;
}
