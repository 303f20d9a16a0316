using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Mlops.Core.Errors;

namespace Mlops.Serving;

/// <summary>
/// Checks request rows against a <see cref="ModelSignature"/>: every required column present, no unknown columns,
/// each value of the accepted JSON type. Reports every problem (up to a limit) so a client can fix a request in one go.
/// </summary>
internal static class InputValidator
{
    /// <summary>Returns null when all rows are valid, else the problems found.</summary>
    public static List<InputError>? Validate(
        ModelSignature signature,
        ReadOnlySpan<JsonElement> rows,
        bool allowNulls,
        int maxErrors
    )
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
                Add(
                    ref errors,
                    new InputError(
                        r,
                        null,
                        "not_an_object",
                        $"row {r}: expected a JSON object of column values, got {Kind(row.ValueKind)}"
                    )
                );
                if (errors!.Count >= maxErrors)
                    return errors;
                continue;
            }
            seen.Clear();
            foreach (var property in row.EnumerateObject())
            {
                if (!IsValidName(property))
                {
                    Add(
                        ref errors,
                        new InputError(
                            r,
                            null,
                            "invalid_text",
                            $"row {r}: a column name is not valid UTF-8 text (e.g. a lone surrogate such as \\ud800)"
                        )
                    );
                }
                else if (!TryFind(lookup, property, out int index))
                {
                    Add(
                        ref errors,
                        new InputError(r, property.Name, "unexpected", $"row {r}: unexpected column '{property.Name}'")
                    );
                }
                else if (seen[index])
                {
                    Add(
                        ref errors,
                        new InputError(
                            r,
                            property.Name,
                            "duplicate",
                            $"row {r}: column '{property.Name}' appears twice"
                        )
                    );
                }
                else
                {
                    seen[index] = true;
                    var column = signature.Columns[index];
                    if (!Accepts(column.Type, property.Value, allowNulls))
                        Add(
                            ref errors,
                            new InputError(
                                r,
                                column.Name,
                                "wrong_type",
                                $"row {r}: column '{column.Name}' must be {Expected(column.Type, allowNulls)}, got {Kind(property.Value.ValueKind)}"
                            )
                        );
                    else if (ValueProblem(property.Value) is { } problem)
                        Add(
                            ref errors,
                            new InputError(
                                r,
                                column.Name,
                                problem.Code,
                                $"row {r}: column '{column.Name}' {problem.Message}"
                            )
                        );
                }
                if (errors is not null && errors.Count >= maxErrors)
                    return errors;
            }
            for (int i = 0; i < n; i++)
            {
                if (seen[i] || !signature.Columns[i].Required)
                    continue;
                Add(
                    ref errors,
                    new InputError(
                        r,
                        signature.Columns[i].Name,
                        "missing",
                        $"row {r}: missing column '{signature.Columns[i].Name}'"
                    )
                );
                if (errors!.Count >= maxErrors)
                    return errors;
            }
        }
        return errors;
    }

    /// <summary>
    /// Values the JSON parser lets through but a model cannot read: text that is not valid UTF-8 (raw bytes or a lone
    /// surrogate escape) and numbers that are not finite doubles (1e400, 5,000 digits). Both are the client's mistake,
    /// so they are reported here, before the model sees them, and never count against the version's health.
    /// </summary>
    private static (string Code, string Message)? ValueProblem(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
            return IsValidText(value)
                ? null
                : ("invalid_text", "is not valid UTF-8 text (e.g. a lone surrogate such as \\ud800)");
        if (
            value.ValueKind == JsonValueKind.Number
            && JsonText.NumberProblem(JsonMarshal.GetRawUtf8Value(value)) is { } why
        )
            return ("out_of_range", "is a number that " + why);
        return null;
    }

    /// <summary>True when a string element is valid text; allocation-free unless it has escapes.</summary>
    internal static bool IsValidText(JsonElement value)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value); // with the quotes
        if (raw.IndexOf((byte)'\\') < 0)
            return Utf8.IsValid(raw);
        try
        {
            _ = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Throws a 400 when a top-level property name is not valid text: looking up "rows" compares names, and comparing
    /// an escaped lone surrogate throws inside System.Text.Json. Row-level names are checked by <see cref="Validate"/>.
    /// </summary>
    internal static void CheckRootNames(JsonElement root, string requestKeyField)
    {
        if (root.ValueKind != JsonValueKind.Object)
            return;
        foreach (var property in root.EnumerateObject())
        {
            if (!IsValidName(property))
                throw new ServingException(
                    "serving.invalid_text",
                    "A property name in the body is not valid UTF-8 text (e.g. a lone surrogate such as \\ud800)."
                );
            // Strict body: a misspelt "row" or "id" must not be silently ignored (the answer would look right and be
            // wrong).
            if (
                !property.NameEquals("rows")
                && !property.NameEquals("ids")
                && !property.NameEquals(requestKeyField)
                && !property.NameEquals(ExplainRequest.BodyField)
                && !property.NameEquals(ExplainRequest.BodyTopField)
            )
                throw new ServingException(
                    "serving.unknown_field",
                    $"The body has an unknown property {JsonSerializer.Serialize(property.Name.Length > 40 ? property.Name[..40] + "…" : property.Name)}; "
                        + $"a predict body holds \"rows\", and optionally \"ids\", \"{requestKeyField}\", "
                        + $"\"{ExplainRequest.BodyField}\" and \"{ExplainRequest.BodyTopField}\"."
                );
        }
    }

    private static bool IsValidName(JsonProperty property)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.IndexOf((byte)'\\') < 0)
            return Utf8.IsValid(raw);
        try
        {
            _ = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    // Looks the name up without allocating a string: transcode the raw UTF-8 name into a stack buffer. Escaped names
    // (rare) take the allocating path, which unescapes.
    internal static bool TryFind(
        Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup,
        JsonProperty property,
        out int index
    )
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

    private static bool Accepts(FeatureType type, JsonElement value, bool allowNulls) =>
        value.ValueKind switch
        {
            JsonValueKind.Null => allowNulls,
            JsonValueKind.Number => type is FeatureType.Numeric or FeatureType.Categorical
                || (type == FeatureType.Boolean && value.TryGetDouble(out double d) && (d == 0 || d == 1)),
            JsonValueKind.String => type is FeatureType.Categorical or FeatureType.Text,
            JsonValueKind.True or JsonValueKind.False => type == FeatureType.Boolean,
            _ => false,
        };

    private static string Expected(FeatureType type, bool allowNulls) =>
        type switch
        {
            FeatureType.Numeric => "a number",
            FeatureType.Categorical => "a string (or number code)",
            FeatureType.Boolean => "true/false",
            _ => "a string",
        } + (allowNulls ? " or null" : "");

    private static string Kind(JsonValueKind kind) =>
        kind switch
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

/// <summary>Benchmark access to the validator (kept internal to the serving pipeline otherwise).</summary>
internal static class InputValidatorAccess
{
    public static bool Validate(ModelSignature signature, ReadOnlySpan<JsonElement> rows) =>
        InputValidator.Validate(signature, rows, true, 50) is null;
}
