using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
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
            throw new ServingException("serving.unreadable_model", $"{version.Model} v{version.Version} cannot be loaded ({e.Code}): {e.Message}", 503, inner: e);
        }
    }
}

/// <summary>Adapts an Mlops.ML <see cref="Model"/> to <see cref="IServableModel"/>; its input schema becomes the request contract.</summary>
public sealed class MlServableModel : IServableModel
{
    /// <summary>Wraps a loaded model.</summary>
    public MlServableModel(Model model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        var columns = model.InputSchema.Select(c => new InputColumn(c.Name, c.Kind switch
        {
            ColumnKind.Numeric => FeatureType.Numeric,
            ColumnKind.Categorical => FeatureType.Categorical,
            ColumnKind.Boolean => FeatureType.Boolean,
            _ => FeatureType.Text,
        }, Required: c.Used)).ToList();
        var task = model.Task switch { MlTask.Binary => PredictionTask.Binary, MlTask.Multiclass => PredictionTask.Multiclass, _ => PredictionTask.Regression };
        Signature = new ModelSignature(columns, task, model.Classes);
    }

    /// <summary>The wrapped model.</summary>
    public Model Model { get; }

    /// <inheritdoc />
    public ModelSignature Signature { get; }

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<JsonElement> rows, Span<Prediction> results)
    {
        bool regression = Signature.Task == PredictionTask.Regression;
        for (int i = 0; i < rows.Length; i++)
        {
            if (!Model.TryPredict(rows[i], out var p, out var issues) || p is null)
            {
                // Serving validated the row already; reaching this means the two checks disagree, a server-side bug.
                throw new InvalidOperationException($"row {i}: {string.Join("; ", issues.Where(x => x.IsError).Select(x => x.Message))}");
            }
            results[i] = regression ? Prediction.Regression(p.Value) : Prediction.Class(p.Label!, p.Probabilities!);
        }
    }
}
