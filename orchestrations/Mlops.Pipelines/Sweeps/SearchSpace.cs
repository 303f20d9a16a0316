using System.Globalization;
using System.Text.Json;

namespace Mlops.Pipelines.Sweeps;

/// <summary>
/// One swept parameter. A list is categorical; <c>{"min", "max", "log", "int"}</c> is a range, sampled in log space
/// when
/// <c>log</c> is set; anything else is a constant. Samplers work in the "internal" coordinate: the category index, or
/// the (log-)value of a range, so that a distance means the same thing everywhere in the range.
/// </summary>
public sealed record SearchDimension(
    string Name,
    IReadOnlyList<JsonElement>? Categories,
    double Low,
    double High,
    bool Log,
    bool Integer,
    JsonElement? Constant
)
{
    public bool IsCategorical => Categories is not null;
    public bool IsRange => Categories is null && Constant is null;

    public static SearchDimension Parse(string name, JsonElement spec)
    {
        if (spec.ValueKind == JsonValueKind.Array)
        {
            var values = spec.EnumerateArray().Select(v => v.Clone()).ToList();
            if (values.Count == 0)
                throw new ArgumentException($"sweep parameter '{name}' has an empty list of values.");
            return new SearchDimension(name, values, 0, values.Count - 1, false, true, null);
        }
        if (spec.ValueKind != JsonValueKind.Object)
            return new SearchDimension(name, null, 0, 0, false, false, spec.Clone());
        if (!spec.TryGetProperty("min", out var minE) || !spec.TryGetProperty("max", out var maxE))
            throw new ArgumentException($"sweep parameter '{name}': a range needs \"min\" and \"max\".");
        double min = minE.GetDouble(),
            max = maxE.GetDouble();
        bool log = spec.TryGetProperty("log", out var l) && l.ValueKind == JsonValueKind.True;
        bool integer = spec.TryGetProperty("int", out var i) && i.ValueKind == JsonValueKind.True;
        if (min > max || (log && min <= 0))
            throw new ArgumentException($"sweep parameter '{name}': need min ≤ max (and min > 0 for log).");
        return new SearchDimension(
            name,
            null,
            log ? Math.Log(min) : min,
            log ? Math.Log(max) : max,
            log,
            integer,
            null
        );
    }

    /// <summary>A uniform draw in the internal coordinate (a category index for lists).</summary>
    public double DrawInternal(Random random) =>
        IsCategorical ? random.Next(Categories!.Count)
        : IsRange ? Low + random.NextDouble() * (High - Low)
        : 0;

    /// <summary>The parameter value for an internal coordinate: rounded as the trainer will see it.</summary>
    public JsonElement ToValue(double internalValue)
    {
        if (Constant is { } c)
            return c;
        if (IsCategorical)
            return Categories![(int)Math.Clamp(Math.Round(internalValue), 0, Categories.Count - 1)];
        double v = Log ? Math.Exp(internalValue) : internalValue;
        string text = Integer
            ? ((long)Math.Round(v)).ToString(CultureInfo.InvariantCulture)
            : Math.Round(v, 6).ToString("R", CultureInfo.InvariantCulture);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The internal coordinate of a parameter value (a trial's recorded params), or null when it is not in the
    /// space.</summary>
    public double? ToInternal(JsonElement value)
    {
        if (IsCategorical)
        {
            string raw = value.GetRawText();
            int index = Categories!.ToList().FindIndex(c => c.GetRawText() == raw);
            return index >= 0 ? index : null;
        }
        if (!IsRange || value.ValueKind != JsonValueKind.Number)
            return null;
        double v = value.GetDouble();
        if (Log && v <= 0)
            return null;
        return Math.Clamp(Log ? Math.Log(v) : v, Low, High);
    }
}

/// <summary>The swept parameters, in name order (ordinal), so that draws are the same on every replay.</summary>
public sealed class SearchSpace
{
    public SearchSpace(IReadOnlyDictionary<string, JsonElement> parameters)
    {
        Dimensions = parameters
            .Keys.OrderBy(k => k, StringComparer.Ordinal)
            .Select(n => SearchDimension.Parse(n, parameters[n]))
            .ToList();
    }

    public IReadOnlyList<SearchDimension> Dimensions { get; }

    public double[] DrawInternal(Random random) => Dimensions.Select(d => d.DrawInternal(random)).ToArray();

    /// <summary>A trial's parameters: the base parameters with the swept ones set from internal coordinates.</summary>
    public Dictionary<string, JsonElement> ToParams(
        IReadOnlyDictionary<string, JsonElement>? baseParams,
        IReadOnlyList<double> point
    )
    {
        var d = baseParams is null
            ? new Dictionary<string, JsonElement>()
            : new Dictionary<string, JsonElement>(baseParams);
        for (int i = 0; i < Dimensions.Count; i++)
            d[Dimensions[i].Name] = Dimensions[i].ToValue(point[i]);
        return d;
    }

    /// <summary>Internal coordinates of a finished trial's parameters (null if any swept value is missing or outside
    /// the space).</summary>
    public double[]? ToInternal(IReadOnlyDictionary<string, JsonElement> trialParams)
    {
        var point = new double[Dimensions.Count];
        for (int i = 0; i < Dimensions.Count; i++)
        {
            var dim = Dimensions[i];
            if (dim.Constant is not null)
                continue;
            if (!trialParams.TryGetValue(dim.Name, out var value) || dim.ToInternal(value) is not double x)
                return null;
            point[i] = x;
        }
        return point;
    }
}
