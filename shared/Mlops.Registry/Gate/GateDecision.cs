namespace Mlops.Registry.Gate;

/// <summary>The gate's verdict with the numbers behind it; stored with the version so the decision can be
/// audited.</summary>
public sealed record GateDecision
{
    /// <summary>True when the candidate may be promoted.</summary>
    public bool Passed { get; init; }

    /// <summary>One sentence per check, failing checks first.</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];

    /// <summary>Metric that decided.</summary>
    public string PrimaryMetric { get; init; } = "";

    /// <summary>Direction used.</summary>
    public bool HigherIsBetter { get; init; }

    /// <summary>Candidate's primary metric.</summary>
    public double? Candidate { get; init; }

    /// <summary>Production's primary metric (null when there is no production model).</summary>
    public double? Production { get; init; }

    /// <summary>Improvement in the metric's direction (positive = better), candidate vs production.</summary>
    public double? Improvement { get; init; }

    /// <summary>Improvement relative to |production|.</summary>
    public double? RelativeImprovement { get; init; }

    /// <summary>Per-slice comparison of the primary metric.</summary>
    public IReadOnlyList<SliceCheck> Slices { get; init; } = [];

    /// <summary>The options the decision was made with.</summary>
    public GateOptions? Options { get; init; }

    /// <summary>When the decision was made.</summary>
    public DateTimeOffset DecidedAt { get; init; }
}

/// <summary>The primary metric on one slice for both models.</summary>
/// <param name="Slice">Slice name.</param>
/// <param name="Candidate">Candidate's value.</param>
/// <param name="Production">Production's value.</param>
/// <param name="Drop">How much worse the candidate is (positive = worse), in metric units.</param>
/// <param name="Passed">Whether the drop is within <see cref="GateOptions.MaxSliceDrop"/>.</param>
public sealed record SliceCheck(string Slice, double Candidate, double Production, double Drop, bool Passed);
