using Mlops.Data.Tabular;

namespace Mlops.Data.Schema;

/// <summary>
/// The expected shape of a dataset, stored as editable JSON at <c>datasets/{dataset}/schema.json</c>. Inferred from the
/// first accepted version; users may tighten or relax any field and the next validation uses their edit.
/// </summary>
public sealed record DatasetSchema
{
    /// <summary>Format version of this document (bumped on incompatible changes).</summary>
    public int FormatVersion { get; init; } = 1;

    /// <summary>Dataset name.</summary>
    public string Dataset { get; init; } = "";

    /// <summary>Hash of the version the schema was inferred from (informational).</summary>
    public string? InferredFrom { get; init; }

    /// <summary>Label (target) column, when the dataset has one.</summary>
    public string? Label { get; init; }

    /// <summary>Known label classes (classification). A class outside this list is <c>label_unseen_class</c>; null
    /// disables the check.</summary>
    public List<string>? LabelClasses { get; init; }

    /// <summary>Columns that are not in the schema raise <c>column_extra</c> (warning) unless this is true.</summary>
    public bool AllowExtraColumns { get; init; }

    /// <summary>Expected columns.</summary>
    public List<ColumnSchema> Columns { get; init; } = [];

    /// <summary>The column's schema or null. Indexed by name: validating a wide file looks up every column, and a
    /// linear scan per lookup made that quadratic (300,000 columns held a core for minutes).</summary>
    public ColumnSchema? Find(string name) => ColumnIndex<ColumnSchema>.Find(Columns, name, static c => c.Name);

    /// <summary>Checks the document after an edit; throws <see cref="DataException"/> (<c>data.schema</c>) naming the
    /// problem.</summary>
    public DatasetSchema Validate()
    {
        if (FormatVersion != 1)
            Fail($"formatVersion {FormatVersion} is not supported (expected 1)");
        if (Columns is null || Columns.Count == 0)
            Fail("the schema has no columns");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in Columns!)
        {
            if (string.IsNullOrEmpty(c.Name))
                Fail("a column has no name");
            if (!seen.Add(c.Name))
                Fail($"column '{c.Name}' appears twice");
            if (c.Min is { } lo && c.Max is { } hi && lo > hi)
                Fail($"column '{c.Name}': min {lo} is above max {hi}");
            if (c.MaxMissingRate is { } m && (m < 0 || m > 1 || double.IsNaN(m)))
                Fail($"column '{c.Name}': maxMissingRate must be between 0 and 1");
        }
        if (Label is not null && !seen.Contains(Label))
            Fail($"label '{Label}' is not one of the columns (add a column named '{Label}')");
        // An empty list would call every label an unseen class and quarantine every file; null is how the check is
        // switched off.
        if (LabelClasses is { Count: 0 })
            Fail("labelClasses is empty; list the classes, or set it to null to switch the check off");
        if (LabelClasses is { } classes)
        {
            if (Label is null)
                Fail("labelClasses needs a label column");
            var distinct = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in classes)
                if (c is null || !distinct.Add(c))
                    Fail(c is null ? "labelClasses holds null" : $"labelClasses names '{c}' twice");
        }
        // Informational, but shown in the dashboard and reports: a version hash (64 lowercase hex digits), never a path
        // or URL.
        if (
            InferredFrom is { } from
            && (from.Length != 64 || !from.All(ch => char.IsAsciiDigit(ch) || ch is >= 'a' and <= 'f'))
        )
            Fail("inferredFrom must be a dataset version hash (64 lowercase hex digits) or null");
        return this;
    }

    private static void Fail(string why) => throw new DataException("data.schema", $"Invalid schema: {why}.");
}

/// <summary>Expectations for one column.</summary>
public sealed record ColumnSchema
{
    /// <summary>Column name (exact, case-sensitive).</summary>
    public string Name { get; init; } = "";

    /// <summary>Expected type. Numeric accepts Boolean data and Categorical accepts Text (and vice versa): the reader
    /// decides between those by value shape and cardinality, which can differ between versions without a real
    /// change.</summary>
    public ColumnKind Kind { get; init; }

    /// <summary>A missing required column is an error; a missing optional one a warning.</summary>
    public bool Required { get; init; } = true;

    /// <summary>Lowest accepted value (numeric kinds), already including the inference tolerance. Null:
    /// unbounded.</summary>
    public double? Min { get; init; }

    /// <summary>Highest accepted value. Null: unbounded.</summary>
    public double? Max { get; init; }

    /// <summary>Accepted categories (categorical/text columns with ≤ the domain-size cap values). Null: any
    /// value.</summary>
    public List<string>? Categories { get; init; }

    /// <summary>Highest accepted missing rate (0..1). Null: any.</summary>
    public double? MaxMissingRate { get; init; }

    /// <summary>Whether the column is a constant in the inferred data (then a constant current column is expected, not
    /// a warning).</summary>
    public bool Constant { get; init; }

    /// <summary>True when <paramref name="actual"/> can be read as this column's kind.</summary>
    public bool Accepts(ColumnKind actual) => Group(Kind) == Group(actual);

    private static int Group(ColumnKind k) =>
        k switch
        {
            ColumnKind.Numeric or ColumnKind.Boolean => 0,
            ColumnKind.Categorical or ColumnKind.Text => 1,
            _ => 2,
        };
}
