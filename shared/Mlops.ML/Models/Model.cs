using System.Buffers;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.Linear;

namespace Mlops.ML.Models;

/// <summary>Descriptive facts stored with a model.</summary>
public sealed record ModelMetadata(
    int FormatVersion,
    DateTimeOffset CreatedUtc,
    string? TrainingDataHash,
    int TrainingRows,
    string Objective,
    int BestIteration,
    IReadOnlyDictionary<string, object> Options,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, string> Tags
);

/// <summary>Importance of one input column.</summary>
public sealed record FeatureImportance(string Column, double Importance);

/// <summary>
/// A trained model: featurizer + predictor + metadata. Immutable and thread-safe; predicting needs no locks and, per
/// row, only stack buffers. <see cref="PredictBatch"/> and <see cref="TryPredict"/> share one code path, so the same
/// row gives bit-identical results either way, and a model saved with <see cref="Save(Stream)"/> and read with <see
/// cref="Load(Stream)"/> predicts bit-identically too (floats are written in shortest round-trip form).
/// </summary>
public sealed class Model
{
    /// <summary>The <c>format</c> field of every model file.</summary>
    public const string FormatName = "mlops-model";

    /// <summary>Newest format this library writes and reads.</summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>Files that need nothing newer than version 1 (e.g. a binary threshold of 0.5) are still written as
    /// version 1.</summary>
    private const int BaseFormatVersion = 1;
    private const int BatchBlock = 512;
    private static readonly InputIssue[] NoIssues = [];

    internal Model(
        MlTask task,
        string target,
        IReadOnlyList<string> classes,
        TrainerKind trainer,
        Featurizer featurizer,
        IPredictor predictor,
        ModelMetadata metadata,
        double threshold = 0.5
    )
    {
        if (task != MlTask.Regression && classes.Count < 2)
            throw new ArgumentException("Classification models need at least two classes.", nameof(classes));
        Task = task;
        Target = target;
        Classes = classes;
        Trainer = trainer;
        Featurizer = featurizer;
        Predictor = predictor;
        Metadata = metadata;
        Threshold = threshold;
    }

    public MlTask Task { get; }

    /// <summary>Name of the predicted column.</summary>
    public string Target { get; }

    /// <summary>Class labels as they appeared in the training data (empty for regression); binary: [negative,
    /// positive].</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The trainer that produced the predictor (<see cref="TrainerKind.Gbdt"/> or <see
    /// cref="TrainerKind.Linear"/>).</summary>
    public TrainerKind Trainer { get; }

    /// <summary>Input columns the model expects (with kinds and known categories).</summary>
    public IReadOnlyList<InputColumn> InputSchema => Featurizer.Inputs;
    public ModelMetadata Metadata { get; }

    /// <summary>Probability above which a binary model predicts the positive class. Default 0.5.</summary>
    public double Threshold { get; }
    public Featurizer Featurizer { get; }
    public IPredictor Predictor { get; }

    /// <summary>A copy with <paramref name="metrics"/> merged into <see cref="ModelMetadata.Metrics"/> (e.g. test
    /// metrics after evaluation).</summary>
    public Model WithMetrics(IReadOnlyDictionary<string, double> metrics)
    {
        var merged = new Dictionary<string, double>(Metadata.Metrics);
        foreach (var (k, v) in metrics)
            merged[k] = v;
        return new Model(
            Task,
            Target,
            Classes,
            Trainer,
            Featurizer,
            Predictor,
            Metadata with
            {
                Metrics = merged,
            },
            Threshold
        );
    }

    /// <summary>A copy predicting the positive class when its probability is at least <paramref name="threshold"/>
    /// (binary models).</summary>
    public Model WithThreshold(double threshold)
    {
        if (Task != MlTask.Binary)
            throw new MlException("bad_options", "A decision threshold applies to binary models only.");
        if (!(threshold > 0 && threshold < 1))
            throw new MlException("bad_options", $"The threshold must be between 0 and 1, got {threshold}.");
        return new Model(Task, Target, Classes, Trainer, Featurizer, Predictor, Metadata, threshold);
    }

    /// <summary>A copy with extra tags (e.g. dataset name, run id).</summary>
    public Model WithTags(IReadOnlyDictionary<string, string> tags)
    {
        var merged = new Dictionary<string, string>(Metadata.Tags);
        foreach (var (k, v) in tags)
            merged[k] = v;
        return new Model(
            Task,
            Target,
            Classes,
            Trainer,
            Featurizer,
            Predictor,
            Metadata with
            {
                Tags = merged,
            },
            Threshold
        );
    }

    // ---------------------------------------------------------------- prediction

    /// <summary>Predicts every row of <paramref name="data"/> (extra columns such as the target are ignored). Runs in
    /// parallel blocks.</summary>
    public PredictionBatch PredictBatch(DataTable data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var bound = Featurizer.Bind(data);
        int n = data.RowCount,
            f = Featurizer.FeatureCount,
            k = Predictor.OutputCount;
        bool cls = Task != MlTask.Regression;
        int c = cls ? Classes.Count : 0;
        var values = new double[n];
        var probs = cls ? new double[(long)n * c] : null;
        var labels = cls ? new string?[n] : null;
        int blocks = (n + BatchBlock - 1) / BatchBlock;
        Parallel.For(0, blocks, b =>
        {
            int start = b * BatchBlock,
                count = Math.Min(BatchBlock, n - start);
            var feats = ArrayPool<float>.Shared.Rent(count * f);
            var raw = ArrayPool<double>.Shared.Rent(count * k);
            try
            {
                Featurizer.FillRows(bound, start, count, feats);
                Predictor.Predict(feats.AsSpan(0, count * f), count, raw);
                for (int r = 0; r < count; r++)
                {
                    int row = start + r;
                    if (!cls)
                    {
                        values[row] = raw[r];
                        continue;
                    }
                    var p = probs.AsSpan(row * c, c);
                    int best = Link(raw.AsSpan(r * k, k), p);
                    labels![row] = Classes[best];
                    values[row] = Task == MlTask.Binary ? p[1] : p[best];
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(feats);
                ArrayPool<double>.Shared.Return(raw);
            }
        });
        return new PredictionBatch(Task, Classes, labels, values, probs, bound.Issues);
    }

    /// <summary>
    /// Predicts one JSON row object (<c>{"column": value, …}</c>) as parsed by System.Text.Json. JSON null is a missing
    /// value. Returns false, with an error issue naming each offending column, when a value has the wrong type (e.g. a
    /// string where a number is expected). Missing and unknown columns and unseen categories are reported as warnings
    /// in
    /// <paramref name="issues"/> and the prediction is still made. Uses stack buffers only (plus the result).
    /// </summary>
    public bool TryPredict(JsonElement row, out Prediction? prediction, out IReadOnlyList<InputIssue> issues)
    {
        int f = Featurizer.FeatureCount,
            k = Predictor.OutputCount;
        float[]? rentedF = f > 512 ? ArrayPool<float>.Shared.Rent(f) : null;
        Span<float> feats = rentedF ?? stackalloc float[f];
        Span<double> raw = stackalloc double[k];
        List<InputIssue>? found = null;
        try
        {
            if (!Featurizer.TryFillRow(row, feats[..f], ref found, Target))
            {
                prediction = null;
                issues = found!;
                return false;
            }
            Predictor.Predict(feats[..f], 1, raw);
            prediction = ToPrediction(raw);
            issues = found is null ? NoIssues : found;
            return true;
        }
        finally
        {
            if (rentedF is not null)
                ArrayPool<float>.Shared.Return(rentedF);
        }
    }

    private Prediction ToPrediction(ReadOnlySpan<double> raw)
    {
        if (Task == MlTask.Regression)
            return new Prediction(null, raw[0], null);
        var p = new double[Classes.Count];
        int best = Link(raw, p);
        return new Prediction(Classes[best], Task == MlTask.Binary ? p[1] : p[best], p);
    }

    /// <summary>Raw scores → probabilities; returns the predicted class index.</summary>
    private int Link(ReadOnlySpan<double> raw, Span<double> p)
    {
        if (Task == MlTask.Binary)
        {
            double pos = 1.0 / (1.0 + Math.Exp(-raw[0]));
            p[0] = 1 - pos;
            p[1] = pos;
            return pos >= Threshold ? 1 : 0;
        }
        double max = raw[0];
        for (int i = 1; i < raw.Length; i++)
            max = Math.Max(max, raw[i]);
        double sum = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            p[i] = Math.Exp(raw[i] - max);
            sum += p[i];
        }
        int best = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            p[i] /= sum;
            if (p[i] > p[best])
                best = i;
        }
        return best;
    }

    // ---------------------------------------------------------------- importance

    /// <summary>
    /// Built-in importance per input column: total split gain for GBDT, summed |weight| of standardized inputs for
    /// linear models; normalized to sum to 1. For a model-agnostic measure use <c>PermutationImportance.Compute</c>.
    /// </summary>
    public IReadOnlyList<FeatureImportance> GainImportance()
    {
        var perFeature = Predictor switch
        {
            GbdtEnsemble g => g.GainByFeature(),
            LinearModel l => l.WeightMagnitudeByFeature(),
            _ => new double[Featurizer.FeatureCount],
        };
        var perColumn = new double[InputSchema.Count];
        for (int j = 0; j < perFeature.Length; j++)
            perColumn[Featurizer.Features[j].Column] += perFeature[j];
        double total = perColumn.Sum();
        return InputSchema
            .Select((col, i) => new FeatureImportance(col.Name, total > 0 ? perColumn[i] / total : 0))
            .Where((_, i) => InputSchema[i].Used)
            .OrderByDescending(x => x.Importance)
            .ToList();
    }

    // ---------------------------------------------------------------- serialization

    public string ToJson() => JsonSerializer.Serialize(ToDocument(), ModelJson.Options);

    public void Save(Stream stream) => JsonSerializer.Serialize(stream, ToDocument(), ModelJson.Options);

    public void Save(string path)
    {
        using var fs = File.Create(path);
        Save(fs);
    }

    public static Model Load(Stream stream)
    {
        using var doc = ParseDocument(() => JsonDocument.Parse(stream));
        return FromDocument(doc);
    }

    public static Model Load(string path)
    {
        using var fs = File.OpenRead(path);
        return Load(fs);
    }

    public static Model FromJson(string json)
    {
        using var doc = ParseDocument(() => JsonDocument.Parse(json));
        return FromDocument(doc);
    }

    private static JsonDocument ParseDocument(Func<JsonDocument> parse)
    {
        try
        {
            return parse();
        }
        catch (JsonException ex)
        {
            throw new MlException("model_format", $"The model file is not valid JSON: {ex.Message}", ex);
        }
    }

    private static Model FromDocument(JsonDocument json)
    {
        var root = json.RootElement;
        if (
            root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("format", out var fmt)
            || fmt.ValueKind != JsonValueKind.String
            || fmt.GetString() != FormatName
        )
            throw new MlException(
                "model_format",
                $"Not an {FormatName} file (the 'format' field is missing or different)."
            );
        if (!root.TryGetProperty("formatVersion", out var ver) || !ver.TryGetInt32(out int version) || version < 1)
            throw new MlException("model_format", "The model file has no valid 'formatVersion'.");
        if (version > CurrentFormatVersion)
            throw new MlException(
                "unsupported_version",
                $"The model file has format version {version}, but this library reads versions up to {CurrentFormatVersion}. Upgrade Mlops to load it."
            );
        ModelDocument d;
        try
        {
            d = root.Deserialize<ModelDocument>(ModelJson.Options)!;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new MlException("model_format", $"The model file is malformed: {ex.Message}", ex);
        }
        try
        {
            return Build(d);
        }
        catch (Exception ex)
            when (ex is ArgumentException or IndexOutOfRangeException or NullReferenceException or KeyNotFoundException)
        {
            throw new MlException("model_format", $"The model file is inconsistent: {ex.Message}", ex);
        }
    }

    private static Model Build(ModelDocument d)
    {
        var task = MlTaskNames.ParseTask(d.Task);
        var trainer = MlTaskNames.ParseTrainer(d.Trainer);
        var inputs = d
            .InputSchema.Select(c => new InputColumn(
                c.Name,
                Enum.Parse<ColumnKind>(c.Kind, true),
                c.Categories,
                c.Used
            ))
            .ToList();
        var features = d
            .Features.Select(f => new FeatureDefinition(
                f.Name,
                f.Column,
                Enum.Parse<FeatureSource>(f.Source, true),
                f.CategoryCount
            ))
            .ToList();
        var featurizer = new Featurizer(inputs, features);
        IPredictor predictor;
        if (d.Gbdt is { } g)
        {
            var trees = g
                .Trees.Select(t => new RegressionTree(
                    t.Class,
                    t.Feature,
                    t.Threshold,
                    t.DefaultLeft,
                    t.Left,
                    t.Right,
                    t.Gain,
                    t.LeafValue,
                    cover: t.Cover,
                    leafCover: t.LeafCover
                ))
                .ToList();
            predictor = new GbdtEnsemble(g.OutputCount, features.Count, g.InitialScores, trees);
        }
        else if (d.Linear is { } l)
        {
            var terms = l
                .Terms.Select(t => new LinearTerm(
                    t.Feature,
                    t.Offset,
                    t.Slots,
                    t.Categorical,
                    t.Impute,
                    t.Mean,
                    t.Scale
                ))
                .ToList();
            predictor = new LinearModel(l.OutputCount, features.Count, terms, l.Weights, l.Intercepts, l.SlotMeans);
        }
        else
            throw new MlException("model_format", "The model file has neither 'gbdt' nor 'linear' parameters.");
        var m = d.Metadata;
        var options = (d.Options ?? []).ToDictionary(kv => kv.Key, kv => (object)kv.Value);
        var metadata = new ModelMetadata(
            d.FormatVersion,
            m.CreatedUtc,
            m.TrainingDataHash,
            m.TrainingRows,
            m.Objective ?? "",
            m.BestIteration,
            options,
            m.Metrics ?? [],
            m.Tags ?? []
        );
        return new Model(task, d.Target, d.Classes ?? [], trainer, featurizer, predictor, metadata, d.Threshold ?? 0.5);
    }

    private ModelDocument ToDocument()
    {
        var d = new ModelDocument
        {
            // Version 2 added the binary threshold; a file at the default 0.5 stays readable by version-1 readers.
            FormatVersion = Threshold == 0.5 ? BaseFormatVersion : CurrentFormatVersion,
            Threshold = Threshold == 0.5 ? null : Threshold,
            Task = Task.ToName(),
            Target = Target,
            Trainer = Trainer.ToName(),
            Classes = Task == MlTask.Regression ? null : Classes.ToList(),
            InputSchema = InputSchema
                .Select(c => new InputColumnDto
                {
                    Name = c.Name,
                    Kind = c.Kind.ToString().ToLowerInvariant(),
                    Categories = c.Categories?.ToList(),
                    Used = c.Used,
                })
                .ToList(),
            Features = Featurizer
                .Features.Select(f => new FeatureDto
                {
                    Name = f.Name,
                    Column = f.Column,
                    Source = f.Source.ToString().ToLowerInvariant(),
                    CategoryCount = f.CategoryCount,
                })
                .ToList(),
            Options = Metadata.Options.ToDictionary(kv => kv.Key, kv => JsonSerializer.SerializeToElement(kv.Value)),
            Metadata = new ModelMetadataDto
            {
                CreatedUtc = Metadata.CreatedUtc,
                TrainingDataHash = Metadata.TrainingDataHash,
                TrainingRows = Metadata.TrainingRows,
                Objective = Metadata.Objective,
                BestIteration = Metadata.BestIteration,
                Library = "Mlops.ML " + typeof(Model).Assembly.GetName().Version,
                Metrics = Metadata.Metrics.ToDictionary(),
                Tags = Metadata.Tags.ToDictionary(),
            },
        };
        switch (Predictor)
        {
            case GbdtEnsemble g:
                d.Gbdt = new GbdtDto
                {
                    OutputCount = g.OutputCount,
                    InitialScores = g.InitialScores,
                    Trees = g
                        .Trees.Select(t => new TreeDto
                        {
                            Class = t.Class,
                            Feature = t.Feature,
                            Threshold = t.Threshold,
                            DefaultLeft = t.DefaultLeft,
                            Left = t.Left,
                            Right = t.Right,
                            Gain = t.Gain,
                            LeafValue = t.LeafValue,
                            Cover = t.Cover,
                            LeafCover = t.LeafCover,
                        })
                        .ToList(),
                };
                break;
            case LinearModel l:
                d.Linear = new LinearDto
                {
                    OutputCount = l.OutputCount,
                    Weights = l.Weights,
                    Intercepts = l.Intercepts,
                    SlotMeans = l.SlotMeans,
                    Terms = l
                        .Terms.Select(t => new LinearTermDto
                        {
                            Feature = t.Feature,
                            Offset = t.Offset,
                            Slots = t.Slots,
                            Categorical = t.Categorical,
                            Impute = t.Impute,
                            Mean = t.Mean,
                            Scale = t.Scale,
                        })
                        .ToList(),
                };
                break;
        }
        return d;
    }
}
