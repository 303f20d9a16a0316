namespace Mlops.Serving;

/// <summary>
/// Told when serving changes what serves by itself — an automatic canary rollback — so the host can alert a person.
/// Register any number; an observer that throws is logged and does not stop the others.
/// </summary>
public interface IServingEvents
{
    Task AutoRolledBackAsync(string model, int version, string reason, CancellationToken cancellationToken);
}

/// <summary>Records the events (tests, diagnostics).</summary>
public sealed class RecordingServingEvents : IServingEvents
{
    private readonly List<(string Model, int Version, string Reason)> _rollbacks = [];
    public IReadOnlyList<(string Model, int Version, string Reason)> Rollbacks
    {
        get
        {
            lock (_rollbacks)
                return _rollbacks.ToList();
        }
    }

    public Task AutoRolledBackAsync(string model, int version, string reason, CancellationToken cancellationToken)
    {
        lock (_rollbacks)
            _rollbacks.Add((model, version, reason));
        return Task.CompletedTask;
    }
}
