using System.Globalization;
using System.Text.Json;
using Mlops.Data.Tabular;

namespace Mlops.ML.Featurization;

/// <summary>
/// Turns raw input columns into the float features every trainer consumes, with the statistics learned on the
/// training data (known categories) so serving takes raw rows. Numbers stay as they are (NaN = missing; trees learn
/// where missing values go, linear models impute), categories become codes (rare/unseen → "other"), datetimes become
/// calendar parts, free text is ignored. Immutable and thread-safe after <see cref="Fit"/>.
/// </summary>
public sealed class Featurizer
{
    private readonly Dictionary<string, int>[] _categoryIndex;
    private readonly Dictionary<string, int> _inputIndex;

    /// <summary>Rebuilds a fitted featurizer (used when loading a model).</summary>
    public Featurizer(IReadOnlyList<InputColumn> inputs, IReadOnlyList<FeatureDefinition> features)
    {
        Inputs = inputs;
        Features = features;
        _categoryIndex = new Dictionary<string, int>[inputs.Count];
        _inputIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Count; i++)
        {
            _inputIndex[inputs[i].Name] = i;
            var d = new Dictionary<string, int>(StringComparer.Ordinal);
            if (inputs[i].Categories is { } cats)
                for (int k = 0; k < cats.Count; k++)
                    d[cats[k]] = k;
            _categoryIndex[i] = d;
        }
    }

    /// <summary>The input columns (the model's input schema).</summary>
    public IReadOnlyList<InputColumn> Inputs { get; }

    /// <summary>The features produced, in order.</summary>
    public IReadOnlyList<FeatureDefinition> Features { get; }

    public int FeatureCount => Features.Count;

    /// <summary>
    /// Learns the input schema from <paramref name="data"/> (all columns except <paramref name="target"/> and <paramref
    /// name="exclude"/>). When <paramref name="orderTarget"/> is given (regression value or 0/1 label per row),
    /// category codes are ordered by the mean target of each category so that a threshold on the code separates low
    /// from high categories — the ordering a tree would choose for a category split — and tree splits on codes behave
    /// like native category splits at the root.
    /// </summary>
    public static Featurizer Fit(
        DataTable data,
        string target,
        double[]? orderTarget = null,
        FeaturizerOptions? options = null,
        IEnumerable<string>? exclude = null
    )
    {
        options ??= new FeaturizerOptions();
        options.Validate();
        var skip = new HashSet<string>(exclude ?? [], StringComparer.Ordinal) { target };
        var inputs = new List<InputColumn>();
        var features = new List<FeatureDefinition>();
        foreach (var col in data.Columns)
        {
            if (skip.Contains(col.Name))
                continue;
            int ci = inputs.Count;
            switch (col.Kind)
            {
                case ColumnKind.Numeric:
                case ColumnKind.Boolean:
                    inputs.Add(new InputColumn(col.Name, col.Kind, null, true));
                    features.Add(new FeatureDefinition(col.Name, ci, FeatureSource.Value));
                    break;
                case ColumnKind.DateTime:
                    inputs.Add(new InputColumn(col.Name, col.Kind, null, true));
                    foreach (
                        var part in new[]
                        {
                            FeatureSource.Year,
                            FeatureSource.Month,
                            FeatureSource.Day,
                            FeatureSource.DayOfWeek,
                            FeatureSource.Hour,
                        }
                    )
                        features.Add(
                            new FeatureDefinition($"{col.Name}.{part.ToString().ToLowerInvariant()}", ci, part)
                        );
                    break;
                case ColumnKind.Categorical:
                {
                    var cats = LearnCategories(col.Strings!, orderTarget, options);
                    inputs.Add(new InputColumn(col.Name, col.Kind, cats, true));
                    features.Add(new FeatureDefinition(col.Name, ci, FeatureSource.CategoryCode, cats.Length));
                    break;
                }
                default:
                    inputs.Add(new InputColumn(col.Name, col.Kind, null, false)); // free text: accepted, not used
                    break;
            }
        }
        if (features.Count == 0)
            throw new MlException(
                "bad_data",
                "No usable feature columns (only the target or free-text columns were found)."
            );
        return new Featurizer(inputs, features);
    }

    private static string[] LearnCategories(string?[] values, double[]? orderTarget, FeaturizerOptions options)
    {
        var stats = new Dictionary<string, (int Count, double Sum)>(StringComparer.Ordinal);
        for (int i = 0; i < values.Length; i++)
        {
            var s = values[i];
            if (s is null)
                continue;
            stats.TryGetValue(s, out var st);
            double t = orderTarget is null || double.IsNaN(orderTarget[i]) ? 0 : orderTarget[i];
            stats[s] = (st.Count + 1, st.Sum + t);
        }
        var kept = stats
            .Where(kv => kv.Value.Count >= options.MinCategoryCount)
            .OrderByDescending(kv => kv.Value.Count)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(options.MaxCategories);
        if (orderTarget is not null)
            kept = kept.OrderBy(kv => kv.Value.Sum / kv.Value.Count).ThenBy(kv => kv.Key, StringComparer.Ordinal);
        return kept.Select(kv => kv.Key).ToArray();
    }

    /// <summary>Resolves <paramref name="data"/>'s columns against the input schema; missing columns and unseen
    /// categories are reported in <see cref="BoundTable.Issues"/>.</summary>
    public BoundTable Bind(DataTable data)
    {
        var numbers = new double[]?[Inputs.Count];
        var codes = new float[]?[Inputs.Count];
        var issues = new List<InputIssue>();
        for (int i = 0; i < Inputs.Count; i++)
        {
            var input = Inputs[i];
            if (!input.Used)
                continue;
            var col = data.Find(input.Name);
            if (col is null)
            {
                issues.Add(
                    new InputIssue(
                        input.Name,
                        InputIssueKind.MissingColumn,
                        $"Column '{input.Name}' is missing; its values are treated as missing."
                    )
                );
                continue;
            }
            if (input.Kind == ColumnKind.Categorical)
            {
                var strings = col.Strings
                    ?? col.Numbers!.Select(v => double.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture))
                        .ToArray();
                var map = _categoryIndex[i];
                var c = new float[strings.Length];
                int unseen = 0;
                string? example = null;
                for (int r = 0; r < c.Length; r++)
                {
                    var s = strings[r];
                    if (s is null)
                    {
                        c[r] = float.NaN;
                        continue;
                    }
                    if (map.TryGetValue(s, out int k))
                        c[r] = k;
                    else
                    {
                        c[r] = map.Count;
                        unseen++;
                        example ??= s;
                    }
                }
                if (unseen > 0)
                    issues.Add(
                        new InputIssue(
                            input.Name,
                            InputIssueKind.UnseenCategory,
                            $"Column '{input.Name}' has {unseen} value(s) not seen in training (e.g. '{example}'); they are treated as 'other'."
                        )
                    );
                codes[i] = c;
            }
            else if (col.Numbers is not null && col.IsNumericLike)
            {
                numbers[i] = col.Numbers;
            }
            else
            {
                // A numeric input arrived as strings (e.g. a column that held one bad value): parse what parses.
                var parsed = new double[col.Length];
                int bad = 0;
                for (int r = 0; r < parsed.Length; r++)
                {
                    var s = col.Strings![r];
                    if (s is null)
                        parsed[r] = double.NaN;
                    else if (!TryParseScalar(input.Kind, s, out parsed[r]))
                    {
                        parsed[r] = double.NaN;
                        bad++;
                    }
                }
                if (bad > 0)
                    issues.Add(
                        new InputIssue(
                            input.Name,
                            InputIssueKind.WrongType,
                            $"Column '{input.Name}' has {bad} value(s) that are not {KindName(input.Kind)}; they are treated as missing."
                        )
                    );
                numbers[i] = parsed;
            }
        }
        return new BoundTable(data.RowCount, numbers, codes, issues);
    }

    private static string KindName(ColumnKind k) =>
        k switch
        {
            ColumnKind.Boolean => "true/false",
            ColumnKind.DateTime => "ISO-8601 dates",
            _ => "numbers",
        };

    private static bool TryParseScalar(ColumnKind kind, ReadOnlySpan<char> s, out double value)
    {
        if (kind == ColumnKind.DateTime)
            return TabularValues.TryParseDateTime(s, out value);
        if (kind == ColumnKind.Boolean)
        {
            bool ok = TabularValues.TryParseBoolean(s, out var b);
            value = ok ? (b ? 1 : 0) : double.NaN;
            return ok;
        }
        return TabularValues.TryParseNumber(s, out value);
    }

    /// <summary>Writes feature <paramref name="feature"/> for every row (column-major; used to bin training
    /// data).</summary>
    public void FillFeature(BoundTable bound, int feature, Span<float> dest)
    {
        var def = Features[feature];
        if (def.IsCategorical)
        {
            if (bound.Codes[def.Column] is { } codes)
                codes.AsSpan().CopyTo(dest);
            else
                dest.Fill(float.NaN);
            return;
        }
        var nums = bound.Numbers[def.Column];
        if (nums is null)
        {
            dest.Fill(float.NaN);
            return;
        }
        for (int r = 0; r < dest.Length; r++)
            dest[r] = Derive(def.Source, nums[r]);
    }

    /// <summary>Writes rows [<paramref name="start"/>, start+count) row-major into <paramref name="dest"/> (count ×
    /// FeatureCount).</summary>
    public void FillRows(BoundTable bound, int start, int count, Span<float> dest)
    {
        int f = Features.Count;
        for (int j = 0; j < f; j++)
        {
            var def = Features[j];
            if (def.IsCategorical)
            {
                var codes = bound.Codes[def.Column];
                for (int r = 0; r < count; r++)
                    dest[r * f + j] = codes is null ? float.NaN : codes[start + r];
            }
            else
            {
                var nums = bound.Numbers[def.Column];
                if (nums is null)
                {
                    for (int r = 0; r < count; r++)
                        dest[r * f + j] = float.NaN;
                }
                else if (def.Source == FeatureSource.Value)
                {
                    for (int r = 0; r < count; r++)
                        dest[r * f + j] = (float)nums[start + r];
                }
                else
                {
                    for (int r = 0; r < count; r++)
                        dest[r * f + j] = Derive(def.Source, nums[start + r]);
                }
            }
        }
    }

    private static float Derive(FeatureSource source, double v)
    {
        if (source == FeatureSource.Value || double.IsNaN(v))
            return (float)v;
        var t = DateTime.UnixEpoch.AddTicks((long)Math.Round(v * TimeSpan.TicksPerSecond));
        return source switch
        {
            FeatureSource.Year => t.Year,
            FeatureSource.Month => t.Month,
            FeatureSource.Day => t.Day,
            FeatureSource.DayOfWeek => (int)t.DayOfWeek,
            FeatureSource.Hour => t.Hour,
            _ => (float)v,
        };
    }

    /// <summary>
    /// Featurizes one JSON object (<c>{"col": value, ...}</c>) into <paramref name="dest"/>. JSON null is a missing
    /// value. Returns false when a value has the wrong type (an error issue names the column); warnings
    /// (missing/unknown columns, unseen categories) are added to <paramref name="issues"/> but do not stop the
    /// prediction. <paramref name="issues"/> is only allocated when there is something to report.
    /// </summary>
    public bool TryFillRow(JsonElement row, Span<float> dest, ref List<InputIssue>? issues, string? target = null)
    {
        if (row.ValueKind != JsonValueKind.Object)
        {
            (issues ??= []).Add(
                new InputIssue("", InputIssueKind.WrongType, $"A row must be a JSON object, got {row.ValueKind}.")
            );
            return false;
        }
        Span<double> values = Inputs.Count <= 256 ? stackalloc double[Inputs.Count] : new double[Inputs.Count];
        Span<float> codes = Inputs.Count <= 256 ? stackalloc float[Inputs.Count] : new float[Inputs.Count];
        bool ok = true;
        int matched = 0;
        for (int i = 0; i < Inputs.Count; i++)
        {
            var input = Inputs[i];
            values[i] = double.NaN;
            codes[i] = float.NaN;
            if (!row.TryGetProperty(input.Name, out var v))
            {
                if (input.Used)
                    (issues ??= []).Add(
                        new InputIssue(
                            input.Name,
                            InputIssueKind.MissingColumn,
                            $"Column '{input.Name}' is missing; treated as a missing value."
                        )
                    );
                continue;
            }
            matched++;
            if (!input.Used || v.ValueKind == JsonValueKind.Null)
                continue;
            switch (input.Kind)
            {
                case ColumnKind.Categorical:
                {
                    string? s = v.ValueKind switch
                    {
                        JsonValueKind.String => v.GetString(),
                        JsonValueKind.Number => v.GetRawText(),
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        _ => null,
                    };
                    if (s is null)
                    {
                        ok = false;
                        (issues ??= []).Add(WrongType(input, v));
                        break;
                    }
                    var map = _categoryIndex[i];
                    if (map.TryGetValue(s, out int k))
                        codes[i] = k;
                    else
                    {
                        codes[i] = map.Count;
                        (issues ??= []).Add(
                            new InputIssue(
                                input.Name,
                                InputIssueKind.UnseenCategory,
                                $"Column '{input.Name}': category '{s}' was not seen in training; treated as 'other'."
                            )
                        );
                    }
                    break;
                }
                case ColumnKind.Boolean:
                    if (v.ValueKind == JsonValueKind.True)
                        values[i] = 1;
                    else if (v.ValueKind == JsonValueKind.False)
                        values[i] = 0;
                    else if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var b) && (b == 0 || b == 1))
                        values[i] = b;
                    else
                    {
                        ok = false;
                        (issues ??= []).Add(WrongType(input, v));
                    }
                    break;
                case ColumnKind.DateTime:
                    if (v.ValueKind == JsonValueKind.String && TabularValues.TryParseDateTime(v.GetString(), out var t))
                        values[i] = t;
                    else
                    {
                        ok = false;
                        (issues ??= []).Add(WrongType(input, v));
                    }
                    break;
                default:
                    if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d))
                        values[i] = d;
                    else
                    {
                        ok = false;
                        (issues ??= []).Add(WrongType(input, v));
                    }
                    break;
            }
        }
        // Only walk the properties (allocating their names) when some are not input columns.
        int propertyCount = 0;
        foreach (var _ in row.EnumerateObject())
            propertyCount++;
        if (propertyCount > matched)
        {
            foreach (var p in row.EnumerateObject())
                if (!_inputIndex.ContainsKey(p.Name) && p.Name != target)
                    (issues ??= []).Add(
                        new InputIssue(
                            p.Name,
                            InputIssueKind.UnknownColumn,
                            $"Column '{p.Name}' is not used by the model; ignored."
                        )
                    );
        }
        if (!ok)
            return false;
        for (int j = 0; j < Features.Count; j++)
        {
            var def = Features[j];
            dest[j] = def.IsCategorical ? codes[def.Column] : Derive(def.Source, values[def.Column]);
        }
        return true;
    }

    private static InputIssue WrongType(InputColumn input, JsonElement v) =>
        new(
            input.Name,
            InputIssueKind.WrongType,
            $"Column '{input.Name}' expects {ExpectedName(input.Kind)}, got {DescribeJson(v)}."
        );

    private static string ExpectedName(ColumnKind k) =>
        k switch
        {
            ColumnKind.Boolean => "true/false",
            ColumnKind.DateTime => "an ISO-8601 date string",
            ColumnKind.Categorical => "a string",
            _ => "a number",
        };

    private static string DescribeJson(JsonElement v) =>
        v.ValueKind switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            _ => v.ValueKind.ToString(),
        };
}

/// <summary>A table resolved against a featurizer's schema: numeric arrays and precomputed category codes per input
/// column.</summary>
public sealed class BoundTable
{
    internal BoundTable(int rows, double[]?[] numbers, float[]?[] codes, IReadOnlyList<InputIssue> issues)
    {
        RowCount = rows;
        Numbers = numbers;
        Codes = codes;
        Issues = issues;
    }

    public int RowCount { get; }
    internal double[]?[] Numbers { get; }
    internal float[]?[] Codes { get; }

    /// <summary>Missing columns, unseen categories and unparsable values found while binding (warnings; prediction
    /// proceeds).</summary>
    public IReadOnlyList<InputIssue> Issues { get; }
}
