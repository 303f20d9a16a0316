using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Models;
using Mlops.Registry;

namespace Mlops.Serving;

/// <summary>Loads <c>mlops-model</c> files written by Mlops.ML (<see cref="Model"/>) for serving.</summary>
public sealed class MlModelLoader : IModelLoader
{
    /// <inheritdoc />
    public IServableModel Load(ModelVersion version, byte[] modelFile)
    {
        try
        {
            using var stream = new MemoryStream(modelFile, writable: false);
            return new MlServableModel(Model.Load(stream));
        }
        catch (MlException e)
        {
            throw new ServingException(
                "serving.unreadable_model",
                $"{version.Model} v{version.Version} cannot be loaded ({e.Code}): {e.Message}",
                503,
                inner: e
            );
        }
    }
}

/// <summary>Adapts an Mlops.ML <see cref="Model"/> to <see cref="IServableModel"/>; its input schema becomes the
/// request contract.</summary>
public sealed class MlServableModel : IExplainableModel
{
    /// <summary>Wraps a loaded model.</summary>
    public MlServableModel(Model model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        var columns = model
            .InputSchema.Select(c => new InputColumn(
                c.Name,
                c.Kind switch
                {
                    ColumnKind.Numeric => FeatureType.Numeric,
                    ColumnKind.Categorical => FeatureType.Categorical,
                    ColumnKind.Boolean => FeatureType.Boolean,
                    _ => FeatureType.Text,
                },
                Required: c.Used
            ))
            .ToList();
        var task = model.Task switch
        {
            MlTask.Binary => PredictionTask.Binary,
            MlTask.Multiclass => PredictionTask.Multiclass,
            _ => PredictionTask.Regression,
        };
        Signature = new ModelSignature(columns, task, model.Classes);
        // Date columns carry both a number and the raw text; the row path handles them, so keep them off the table
        // path.
        _batchable = model.InputSchema.All(c =>
            c.Kind is ColumnKind.Numeric or ColumnKind.Boolean or ColumnKind.Categorical or ColumnKind.Text
        );
    }

    private readonly bool _batchable;

    internal void PredictAsTableForBench(ReadOnlySpan<JsonElement> rows, Span<Prediction> results) =>
        PredictAsTable(rows, results);

    /// <summary>
    /// Scores a batch through <see cref="Model.PredictBatch"/> (blocked, parallel featurization and scoring), which the
    /// library guarantees to give the same numbers as the per-row path. Each row's properties are read once.
    /// </summary>
    private void PredictAsTable(ReadOnlySpan<JsonElement> rows, Span<Prediction> results)
    {
        var schema = Model.InputSchema;
        int n = rows.Length;
        var numbers = new double[schema.Count][];
        var strings = new string?[schema.Count][];
        for (int c = 0; c < schema.Count; c++)
        {
            if (schema[c].Kind is ColumnKind.Numeric or ColumnKind.Boolean)
            {
                numbers[c] = new double[n];
                numbers[c].AsSpan().Fill(double.NaN);
            }
            else
                strings[c] = new string?[n];
        }
        var lookup = Signature.Lookup;
        for (int r = 0; r < n; r++)
        {
            foreach (var property in rows[r].EnumerateObject())
            {
                if (!InputValidator.TryFind(lookup, property, out int c))
                    continue;
                var v = property.Value;
                if (numbers[c] is { } num)
                {
                    num[r] = v.ValueKind switch
                    {
                        JsonValueKind.Number => v.GetDouble(),
                        JsonValueKind.True => 1,
                        JsonValueKind.False => 0,
                        _ => double.NaN,
                    };
                }
                else
                {
                    strings[c][r] = v.ValueKind switch
                    {
                        JsonValueKind.String => v.GetString(),
                        JsonValueKind.Number => v.GetRawText(),
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        _ => null,
                    };
                }
            }
        }
        var columns = schema
            .Select((col, c) => new Column(col.Name, col.Kind, numbers[c], numbers[c] is null ? strings[c] : null))
            .ToList();
        var batch = Model.PredictBatch(new DataTable(columns));
        bool regression = Signature.Task == PredictionTask.Regression;
        int k = Model.Classes.Count;
        for (int r = 0; r < n; r++)
        {
            results[r] = regression
                ? Prediction.Regression(batch.Values[r])
                : Prediction.Class(batch.Labels![r]!, batch.Probabilities.AsSpan(r * k, k).ToArray());
        }
    }

    /// <summary>The wrapped model.</summary>
    public Model Model { get; }

    /// <inheritdoc />
    public bool CanExplain => ModelExplainer.CanExplain(Model);

    /// <inheritdoc />
    public void Explain(ReadOnlySpan<JsonElement> rows, Span<Explanation?> results)
    {
        ModelExplainer explainer;
        try
        {
            explainer = ModelExplainer.For(Model);
        }
        catch (MlException e)
        {
            throw new ServingException("serving.explain_unavailable", e.Message, 422, inner: e);
        }
        for (int i = 0; i < rows.Length; i++)
        {
            if (!explainer.TryExplain(rows[i], out var e, out var issues))
            {
                var errors = issues
                    .Where(x => x.IsError)
                    .Select(x => new InputError(i, x.Column, "wrong_type", $"row {i}: {x.Message}"))
                    .ToList();
                throw new ServingException(
                    "serving.invalid_input",
                    string.Join("; ", errors.Select(x => x.Message)),
                    400,
                    errors
                );
            }
            results[i] = e;
        }
    }

    /// <inheritdoc />
    public ModelSignature Signature { get; }

    /// <summary>Batches at least this large are converted to a columnar table and scored with the library's batch
    /// path.</summary>
    public const int BatchThreshold = 8;

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<JsonElement> rows, Span<Prediction> results)
    {
        if (rows.Length >= BatchThreshold && _batchable)
        {
            PredictAsTable(rows, results);
            return;
        }
        bool regression = Signature.Task == PredictionTask.Regression;
        for (int i = 0; i < rows.Length; i++)
        {
            if (!Model.TryPredict(rows[i], out var p, out var issues) || p is null)
            {
                // Serving checked JSON types already; what is left is value-level (e.g. a date string that does not
                // parse), which is still the client's to fix: a 400 naming the columns.
                var errors = issues
                    .Where(x => x.IsError)
                    .Select(x => new InputError(i, x.Column, "wrong_type", $"row {i}: {x.Message}"))
                    .ToList();
                throw new ServingException(
                    "serving.invalid_input",
                    string.Join("; ", errors.Select(e => e.Message)),
                    400,
                    errors
                );
            }
            results[i] = regression ? Prediction.Regression(p.Value) : Prediction.Class(p.Label!, p.Probabilities!);
        }
    }
}
