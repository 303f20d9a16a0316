using System.Text.Json;
using Mlops.Registry;

namespace Mlops.Serving;

/// <summary>The JSON type a model input column accepts.</summary>
public enum FeatureType
{
    /// <summary>A JSON number (null = missing).</summary>
    Numeric,

    /// <summary>A JSON string; numbers are accepted and used as their text (codes such as 3 and "3" mean the
    /// same).</summary>
    Categorical,

    /// <summary>true/false (also 0/1).</summary>
    Boolean,

    /// <summary>Free text or a date string.</summary>
    Text,
}

/// <summary>One input column of a model.</summary>
/// <param name="Name">Column name as it appears in request rows.</param>
/// <param name="Type">Accepted JSON type.</param>
/// <param name="Required">Whether a row must contain the column (it may still be null when <see
/// cref="ServingOptions.AllowNullValues"/>).</param>
public sealed record InputColumn(string Name, FeatureType Type, bool Required = true);

/// <summary>What a model predicts.</summary>
public enum PredictionTask
{
    /// <summary>Two classes; predictions carry a label and both probabilities.</summary>
    Binary,

    /// <summary>More than two classes.</summary>
    Multiclass,

    /// <summary>A number; predictions carry a value.</summary>
    Regression,
}

/// <summary>The request contract of a model: input columns, task and class labels. Requests are validated against
/// it.</summary>
public sealed class ModelSignature
{
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates a signature; column names must be unique.</summary>
    public ModelSignature(
        IReadOnlyList<InputColumn> columns,
        PredictionTask task,
        IReadOnlyList<string>? classes = null
    )
    {
        ArgumentNullException.ThrowIfNull(columns);
        Columns = columns;
        Task = task;
        Classes = classes ?? [];
        if (task != PredictionTask.Regression && Classes.Count < 2)
            throw new ArgumentException("A classification signature needs at least two class labels.", nameof(classes));
        _index = new Dictionary<string, int>(columns.Count, StringComparer.Ordinal);
        for (int i = 0; i < columns.Count; i++)
            if (!_index.TryAdd(columns[i].Name, i))
                throw new ArgumentException($"Duplicate input column '{columns[i].Name}'.", nameof(columns));
        EncodedClasses = Classes.Select(c => JsonEncodedText.Encode(c)).ToArray();
    }

    /// <summary>Input columns in model order.</summary>
    public IReadOnlyList<InputColumn> Columns { get; }

    /// <summary>Learning task.</summary>
    public PredictionTask Task { get; }

    /// <summary>Class labels in probability order (empty for regression).</summary>
    public IReadOnlyList<string> Classes { get; }

    internal JsonEncodedText[] EncodedClasses { get; }

    /// <summary>Index of a column by name, or -1.</summary>
    public int IndexOf(string name) => _index.TryGetValue(name, out int i) ? i : -1;

    internal Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Lookup =>
        _index.GetAlternateLookup<ReadOnlySpan<char>>();
}

/// <summary>One prediction: a class label with probabilities (classification) or a value (regression).</summary>
public readonly record struct Prediction
{
    /// <summary>Predicted class label (classification).</summary>
    public string? Label { get; init; }

    /// <summary>Class probabilities in <see cref="ModelSignature.Classes"/> order (classification).</summary>
    public double[]? Probabilities { get; init; }

    /// <summary>Predicted value (regression).</summary>
    public double Value { get; init; }

    /// <summary>A classification result.</summary>
    public static Prediction Class(string label, double[] probabilities) =>
        new() { Label = label, Probabilities = probabilities };

    /// <summary>A regression result.</summary>
    public static Prediction Regression(double value) => new() { Value = value };
}

/// <summary>
/// A loaded, immutable, thread-safe model that serving can call concurrently. Rows passed to
/// <see cref="Predict"/> have already been validated against <see cref="Signature"/>.
/// </summary>
public interface IServableModel
{
    /// <summary>The request contract.</summary>
    ModelSignature Signature { get; }

    /// <summary>Predicts each row (JSON objects keyed by column name; values may be null = missing) into <paramref
    /// name="results"/>.</summary>
    void Predict(ReadOnlySpan<JsonElement> rows, Span<Prediction> results);
}

/// <summary>Turns a registered version's <c>model.json</c> into a servable model. Called once per version per
/// process.</summary>
public interface IModelLoader
{
    /// <summary>Loads the model; throws <see cref="Mlops.Core.Errors.MlopsException"/> for an unreadable
    /// file.</summary>
    IServableModel Load(ModelVersion version, byte[] modelFile);
}
