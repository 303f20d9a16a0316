namespace Mlops.Monitoring.Feedback;

/// <summary>One label of a feedback batch, as posted: <c>{"predictionId": "...", "label": ...}</c>.</summary>
/// <param name="PredictionId">Id returned by the predict call (or sent by the client in <c>ids</c>).</param>
/// <param name="Label">The ground truth, as text (numbers in their JSON form).</param>
public sealed record FeedbackLabel(string PredictionId, string Label);

/// <summary>What happened to a feedback batch.</summary>
/// <param name="Model">Model name.</param>
/// <param name="BatchId">Content hash of the batch (re-sending the same batch is harmless).</param>
/// <param name="Received">Labels in the request.</param>
/// <param name="Accepted">Labels stored.</param>
/// <param name="Duplicates">Labels that repeated an id earlier in the batch (the later one is kept).</param>
/// <param name="Unknown">Server ids outside the lookback (too old, or in the future): not stored.</param>
/// <param name="Invalid">Entries without a usable id or label: not stored.</param>
/// <param name="Problems">The first few problems, one sentence each.</param>
public sealed record FeedbackReceipt(
    string Model,
    string BatchId,
    int Received,
    int Accepted,
    int Duplicates,
    int Unknown,
    int Invalid,
    IReadOnlyList<string> Problems
);

/// <summary>A stored label with its provenance: who (the caller key's fingerprint) sent it, and when it
/// arrived.</summary>
/// <param name="Label">The ground truth as stored.</param>
/// <param name="Key">Fingerprint of the key the request carried (<c>drop</c> for the blob drop zone; null for labels
/// stored before provenance was recorded).</param>
/// <param name="ReceivedAt">When the batch arrived.</param>
public sealed record StoredLabel(string Label, string? Key, DateTimeOffset ReceivedAt);

/// <summary>The checks the feedback API applies before it stores a batch (the store itself trusts its
/// caller).</summary>
public sealed record FeedbackPolicy
{
    /// <summary>Fingerprint of the caller's key (computed by the app from the key the request carried); recorded with
    /// every label.</summary>
    public string? KeyFingerprint { get; init; }

    /// <summary>Most labels one key may store for the model per UTC day (0: no cap).</summary>
    public int MaxLabelsPerKeyPerDay { get; init; }

    /// <summary>
    /// Returns the ids (of those given) that the service issued for the model; the others are counted <c>unknown</c>
    /// and not stored. Null: ids are not checked.
    /// </summary>
    public Func<IReadOnlyCollection<string>, CancellationToken, Task<HashSet<string>>>? IssuedIds { get; init; }

    /// <summary>The labels the model can take; a label outside it refuses the batch. Null: labels are not
    /// checked.</summary>
    public LabelDomain? Labels { get; init; }
}

/// <summary>The values a model's ground truth may take: one of its classes, or a finite number for
/// regression.</summary>
/// <param name="Task"><c>binary</c>, <c>multiclass</c> or <c>regression</c> (anything else: classes unknown).</param>
/// <param name="Classes">Class names of a classifier, as the model reports them (empty: any finite label).</param>
public sealed record LabelDomain(string Task, IReadOnlyList<string> Classes)
{
    /// <summary>
    /// The label in its canonical spelling (a class name as the model writes it; for regression the number as sent), or
    /// null with <paramref name="problem"/> saying why it is refused. A numeric label matches a numeric class of the
    /// same value (<c>1.0</c> is class <c>1</c>); non-finite numbers (<c>1e400</c>) never match.
    /// </summary>
    public string? Normalize(string label, out string? problem)
    {
        problem = null;
        bool numeric = double.TryParse(
            label,
            System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture,
            out double value
        );
        if (numeric && !double.IsFinite(value))
        {
            problem = $"label {label} is not a finite number";
            return null;
        }
        if (Task == "regression")
        {
            if (numeric)
                return label;
            problem = $"label '{Clip(label)}' is not a number (the model is a regression)";
            return null;
        }
        if (Classes.Count == 0)
            return label; // classes unknown (a version without a reference profile): only the number rule
        foreach (var c in Classes)
            if (string.Equals(c, label, StringComparison.Ordinal))
                return c;
        if (numeric)
            foreach (var c in Classes)
                if (
                    double.TryParse(
                        c,
                        System.Globalization.NumberStyles.Float,
                        System.Globalization.CultureInfo.InvariantCulture,
                        out double cv
                    )
                    && cv == value
                )
                    return c;
        problem =
            $"label '{Clip(label)}' is not one of the model's classes ({string.Join(", ", Classes.Take(20))}{(Classes.Count > 20 ? ", …" : "")})";
        return null;
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
