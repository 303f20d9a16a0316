using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.Linear;
using Mlops.ML.Models;

namespace Mlops.ML.Explain;

/// <summary>
/// One row's explanation in the model's raw output space (log-odds of the positive class for binary models, one
/// log-odds per class for multiclass, the value for regression): <c>Base[o] + Σ Contribution(o, column) = Raw[o]</c>.
/// Contributions are per input column: the features a column was turned into (e.g. a date's year, month and day)
/// are summed back to it.
/// </summary>
public sealed class Explanation
{
    internal Explanation(
        IReadOnlyList<string> columns,
        IReadOnlyList<string> outputs,
        double[] baseValues,
        double[] contributions
    )
    {
        Columns = columns;
        Outputs = outputs;
        Base = baseValues;
        Contributions = contributions;
    }

    /// <summary>The model's used input columns, in schema order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>What each raw output is: the positive class (binary), every class (multiclass) or the target
    /// (regression).</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Base value per output: the model's expected raw score (see <see cref="ModelExplainer"/>).</summary>
    public double[] Base { get; }

    /// <summary>Output-major contributions: <c>Contributions[output × Columns.Count + column]</c>.</summary>
    public double[] Contributions { get; }

    /// <summary>Contribution of <paramref name="column"/> (index into <see cref="Columns"/>) to <paramref
    /// name="output"/>.</summary>
    public double Contribution(int output, int column) => Contributions[output * Columns.Count + column];

    /// <summary>The contributions of one output.</summary>
    public ReadOnlySpan<double> For(int output) => Contributions.AsSpan(output * Columns.Count, Columns.Count);

    /// <summary>The values of the flat layout named by <see cref="ModelExplainer.FlatNames"/>: per output, its base
    /// then its contributions.</summary>
    public IEnumerable<double> Flat()
    {
        for (int o = 0; o < Outputs.Count; o++)
        {
            yield return Base[o];
            for (int c = 0; c < Columns.Count; c++)
                yield return Contribution(o, c);
        }
    }

    /// <summary>Base plus contributions of one output: the raw score the explanation accounts for.</summary>
    public double Raw(int output)
    {
        double s = Base[output];
        foreach (var v in For(output))
            s += v;
        return s;
    }
}

/// <summary>
/// Exact per-row explanations for every model kind: TreeSHAP (path-dependent, <see cref="TreeShap"/>) for tree
/// ensembles — our GBDT, converted LightGBM trees and FastForest all end up as <see cref="GbdtEnsemble"/> — and exact
/// linear attributions (<see cref="LinearAttribution"/>) for logistic and ridge models. Immutable and thread-safe; one
/// instance per model (<see cref="For"/> caches it), whose set-up walks every tree once.
/// </summary>
public sealed class ModelExplainer
{
    private static readonly ConditionalWeakTable<Model, ModelExplainer> Cache = new();
    private static readonly InputIssue[] NoIssues = [];
    private const int BatchBlock = 256;

    private readonly TreeShap? _trees;
    private readonly LinearAttribution? _linear;
    private readonly int[] _columnOfFeature;
    private readonly double[] _base;

    private ModelExplainer(Model model)
    {
        Model = model;
        switch (model.Predictor)
        {
            case GbdtEnsemble g:
                _trees = TreeShap.For(g);
                _base = _trees.Expected;
                Method = "treeshap";
                break;
            case LinearModel l:
                _linear = new LinearAttribution(l);
                _base = _linear.Expected;
                Method = "linear";
                break;
            default:
                throw new MlException(
                    "explain_unavailable",
                    $"Models with a {model.Predictor.GetType().Name} predictor cannot be explained."
                );
        }
        var used = new List<string>();
        var position = new int[model.InputSchema.Count];
        for (int i = 0; i < model.InputSchema.Count; i++)
        {
            position[i] = model.InputSchema[i].Used ? used.Count : -1;
            if (model.InputSchema[i].Used)
                used.Add(model.InputSchema[i].Name);
        }
        Columns = used;
        _columnOfFeature = model.Featurizer.Features.Select(f => position[f.Column]).ToArray();
        if (_columnOfFeature.Any(c => c < 0))
            throw new MlException("model_format", "A model feature comes from a column marked unused.");
        Outputs = model.Task switch
        {
            MlTask.Binary => [model.Classes[1]],
            MlTask.Multiclass => model.Classes.ToList(),
            _ => [model.Target],
        };
    }

    /// <summary>The explainer of <paramref name="model"/>, built on first use and kept as long as the model
    /// lives.</summary>
    /// <exception cref="MlException"><c>explain_unavailable</c> for tree models saved without node covers.</exception>
    public static ModelExplainer For(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Cache.GetValue(model, m => new ModelExplainer(m));
    }

    /// <summary>Whether <paramref name="model"/> can be explained (linear models always; tree models trained with
    /// covers).</summary>
    public static bool CanExplain(Model model) =>
        model.Predictor switch
        {
            GbdtEnsemble g => TreeShap.CanExplain(g),
            LinearModel => true,
            _ => false,
        };

    /// <summary>The explained model.</summary>
    public Model Model { get; }

    /// <summary><c>treeshap</c> or <c>linear</c>.</summary>
    public string Method { get; }

    /// <summary>Used input columns in schema order (the columns of every <see cref="Explanation"/>).</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Names of the raw outputs (see <see cref="Explanation.Outputs"/>).</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>
    /// Column names of an explanation written as one flat row (<see cref="Explanation.Flat"/>), as <c>mlops predict
    /// --explain</c> and batch scoring write it: <c>base</c>, <c>contribution_{column}</c>…; a multiclass model has
    /// one group per class (<c>base_{class}</c>, <c>contribution_{class}_{column}</c>).
    /// </summary>
    public IReadOnlyList<string> FlatNames
    {
        get
        {
            bool perClass = Outputs.Count > 1;
            var names = new List<string>(Outputs.Count * (Columns.Count + 1));
            foreach (var o in Outputs)
            {
                names.Add(perClass ? "base_" + o : "base");
                names.AddRange(Columns.Select(c => "contribution_" + (perClass ? o + "_" : "") + c));
            }
            return names;
        }
    }

    /// <summary>Base value per output (the same for every row).</summary>
    public IReadOnlyList<double> Base => _base;

    /// <summary>
    /// Explains one JSON row object as <see cref="Model.TryPredict"/> reads it (same featurization, same issues):
    /// false, with error issues, when a value has the wrong type.
    /// </summary>
    public bool TryExplain(JsonElement row, out Explanation? explanation, out IReadOnlyList<InputIssue> issues)
    {
        int f = Model.Featurizer.FeatureCount;
        float[]? rented = f > 512 ? ArrayPool<float>.Shared.Rent(f) : null;
        Span<float> feats = rented ?? stackalloc float[f];
        List<InputIssue>? found = null;
        try
        {
            if (!Model.Featurizer.TryFillRow(row, feats[..f], ref found, Model.Target))
            {
                explanation = null;
                issues = found!;
                return false;
            }
            explanation = Explain(feats[..f]);
            issues = found is null ? NoIssues : found;
            return true;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>Explains one featurized row (<see cref="Featurizer.FeatureCount"/> values).</summary>
    public Explanation Explain(ReadOnlySpan<float> features)
    {
        int f = Model.Featurizer.FeatureCount,
            k = _base.Length;
        if (features.Length < f)
            throw new ArgumentException($"A featurized row has {f} values, got {features.Length}.", nameof(features));
        var phi = ArrayPool<double>.Shared.Rent(k * f);
        try
        {
            var span = phi.AsSpan(0, k * f);
            span.Clear();
            if (_trees is not null)
                _trees.Explain(features[..f], span);
            else
                _linear!.Explain(features[..f], span);
            int columns = Columns.Count;
            var contributions = new double[k * columns];
            for (int o = 0; o < k; o++)
            for (int j = 0; j < f; j++)
                contributions[o * columns + _columnOfFeature[j]] += span[o * f + j];
            return new Explanation(Columns, Outputs, (double[])_base.Clone(), contributions);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(phi);
        }
    }

    /// <summary>Explains every row of <paramref name="data"/> (extra columns are ignored), in parallel
    /// blocks.</summary>
    public Explanation[] ExplainBatch(DataTable data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var bound = Model.Featurizer.Bind(data);
        int n = data.RowCount,
            f = Model.Featurizer.FeatureCount;
        var result = new Explanation[n];
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.For(0, (n + BatchBlock - 1) / BatchBlock, options, b =>
        {
            int start = b * BatchBlock,
                count = Math.Min(BatchBlock, n - start);
            var feats = ArrayPool<float>.Shared.Rent(count * f);
            try
            {
                Model.Featurizer.FillRows(bound, start, count, feats);
                for (int r = 0; r < count; r++)
                    result[start + r] = Explain(feats.AsSpan(r * f, f));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(feats);
            }
        });
        return result;
    }
}
