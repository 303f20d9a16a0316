using Mlops.Registry;

namespace Mlops.Functions.Handlers;

/// <summary>Body of alias and promote requests.</summary>
/// <param name="Version">Target version.</param>
/// <param name="Reason">Why (recorded in history).</param>
/// <param name="Actor">Who (defaults to the <c>x-mlops-actor</c> header, then "api").</param>
/// <param name="Force">Promote even if the gate failed or approval was rejected.</param>
public sealed record VersionChangeRequest(int Version, string? Reason = null, string? Actor = null, bool Force = false);

/// <summary>Body of rollback, archive and alias removal requests (all optional).</summary>
/// <param name="Reason">Why (recorded in history).</param>
/// <param name="Actor">Who (defaults to the <c>x-mlops-actor</c> header, then "api").</param>
public sealed record ChangeRequest(string? Reason = null, string? Actor = null);

/// <summary>Body of <c>PUT /api/models/{model}/traffic</c>.</summary>
/// <param name="Routes">Weighted versions (weights sum to 100).</param>
/// <param name="Shadow">Versions that also score every request, unseen by callers.</param>
/// <param name="AutoRollback">When a canary is rolled back automatically.</param>
/// <param name="Reason">Why (recorded in history).</param>
/// <param name="Actor">Who.</param>
public sealed record TrafficRequest(
    List<TrafficRoute>? Routes = null,
    List<int>? Shadow = null,
    AutoRollbackPolicy? AutoRollback = null,
    string? Reason = null,
    string? Actor = null
);

/// <summary>Body of approve/reject: an optional note (who decided is the caller's key, never the body).</summary>
/// <param name="Comment">The reviewer's note, kept with the decision.</param>
/// <param name="Reason">The same note under the name the other change routes use (the dashboard sends it).</param>
public sealed record DecisionRequest(string? Comment = null, string? Reason = null);
