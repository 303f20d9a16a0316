using System.Text.Json;

namespace Mlops.Serving;

/// <summary>
/// Checks request rows against a <see cref="ModelSignature"/>: every required column present, no unknown columns,
/// each value of the accepted JSON type. Reports every problem (up to a limit) so a client can fix a request in one go.
/// </summary>
internal static class InputValidator
{
    /// <summary>Returns null when all rows are valid, else the problems found.</summary>
    public static List<InputError>? Validate(ModelSignature signature, ReadOnlySpan<JsonElement> rows, bool allowNulls, int maxErrors)
    {
        List<InputError>? errors = null;
        int n = signature.Columns.Count;
        Span<bool> seen = n <= 512 ? stackalloc bool[n] : new bool[n];
        var lookup = signature.Lookup;
        for (int r = 0; r < rows.Length; r++)
        {
            var row = rows[r];
            if (row.ValueKind != JsonValueKind.Object)
            {
                Add(ref errors, new InputError(r, null, "not_an_object", $"row {r}: expected a JSON object of column values, got {Kind(row.ValueKind)}"));
                if (errors!.Count >= maxErrors) return errors;
                continue;
            }
            seen.Clear();
            foreach (var property in row.EnumerateObject())
            {
                if (!TryFind(lookup, property, out int index))
                {
                    Add(ref errors, new InputError(r, property.Name, "unexpected", $"row {r}: unexpected column '{property.Name}'"));
                }
                else if (seen[index])
                {
                    Add(ref errors, new InputError(r, property.Name, "duplicate", $"row {r}: column '{property.Name}' appears twice"));
                }
                else
                {
                    seen[index] = true;
                    var column = signature.Columns[index];
                    if (!Accepts(column.Type, property.Value, allowNulls))
                        Add(ref errors, new InputError(r, column.Name, "wrong_type", $"row {r}: column '{column.Name}' must be {Expected(column.Type, allowNulls)}, got {Kind(property.Value.ValueKind)}"));
                }
                if (errors is not null && errors.Count >= maxErrors) return errors;
            }
            for (int i = 0; i < n; i++)
            {
                if (seen[i] || !signature.Columns[i].Required) continue;
                Add(ref errors, new InputError(r, signature.Columns[i].Name, "missing", $"row {r}: missing column '{signature.Columns[i].Name}'"));
                if (errors!.Count >= maxErrors) return errors;
            }
        }
        return errors;
    }

    // Looks the name up without allocating a string: transcode the raw UTF-8 name into a stack buffer. Escaped names
    // (rare) take the allocating path, which unescapes.
    internal static bool TryFind(Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup, JsonProperty property, out int index)
    {
        ReadOnlySpan<byte> raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.Length <= 256 && raw.IndexOf((byte)'\\') < 0)
        {
            Span<char> chars = stackalloc char[256];
            int n = System.Text.Encoding.UTF8.GetChars(raw, chars);
            return lookup.TryGetValue(chars[..n], out index);
        }
        return lookup.TryGetValue(property.Name, out index);
    }

    private static bool Accepts(FeatureType type, JsonElement value, bool allowNulls) => value.ValueKind switch
    {
        JsonValueKind.Null => allowNulls,
        JsonValueKind.Number => type is FeatureType.Numeric or FeatureType.Categorical
                                || (type == FeatureType.Boolean && value.TryGetDouble(out double d) && (d == 0 || d == 1)),
        JsonValueKind.String => type is FeatureType.Categorical or FeatureType.Text,
        JsonValueKind.True or JsonValueKind.False => type == FeatureType.Boolean,
        _ => false,
    };

    private static string Expected(FeatureType type, bool allowNulls) => type switch
    {
        FeatureType.Numeric => "a number",
        FeatureType.Categorical => "a string (or number code)",
        FeatureType.Boolean => "true/false",
        _ => "a string",
    } + (allowNulls ? " or null" : "");

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static void Add(ref List<InputError>? errors, InputError error) => (errors ??= []).Add(error);
}
