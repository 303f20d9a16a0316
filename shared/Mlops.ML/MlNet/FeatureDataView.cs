using Microsoft.ML;
using Microsoft.ML.Data;

namespace Mlops.ML.MlNet;

/// <summary>
/// Builds ML.NET data views from our featurized rows: a <c>Features</c> vector column whose width is set at run time
/// through a <see cref="SchemaDefinition"/> (so any CSV works), and a <c>Label</c> column typed for the task
/// (Boolean for binary, a key of <c>classCount</c> values for multiclass, Single for regression).
/// </summary>
internal static class FeatureDataView
{
    public const string Features = "Features";
    public const string Label = "Label";

    // ML.NET's annotation kind (AnnotationUtils.Kinds.CategoricalSlotRanges, not public): inclusive [first, last] slot
    // pairs.
    private const string CategoricalSlotRanges = "CategoricalSlotRanges";

    private sealed class BinaryRow
    {
        public bool Label;
        public float[] Features = [];
    }

    private sealed class KeyRow
    {
        public uint Label;
        public float[] Features = [];
    }

    private sealed class ValueRow
    {
        public float Label;
        public float[] Features = [];
    }

    private sealed class FeatureRow
    {
        public float[] Features = [];
    }

    /// <summary>
    /// A view over <paramref name="rows"/> row-major feature rows (<paramref name="features"/> = rows × width) and
    /// their encoded labels (class index, or value). Rows are produced lazily, one small array each, when the trainer
    /// reads them. With a <paramref name="layout"/> that has categorical features, each category code becomes a one-hot
    /// block of slots announced through the <c>CategoricalSlotRanges</c> annotation — how ML.NET's LightGBM learns
    /// native category splits.
    /// </summary>
    public static IDataView Create(
        MLContext ml,
        float[] features,
        int rows,
        int width,
        double[] labels,
        MlTask task,
        int classCount,
        SlotLayout? layout = null
    )
    {
        if (features.Length < (long)rows * width)
            throw new ArgumentException("features must hold rows × width values.", nameof(features));
        if (labels.Length != rows)
            throw new ArgumentException("labels must have one value per row.", nameof(labels));
        layout ??= SlotLayout.Plain(width);
        float[] Row(int i) => layout.Expand(features.AsSpan(i * width, width));
        switch (task)
        {
            case MlTask.Binary:
            {
                var schema = Schema<BinaryRow>(layout);
                return ml.Data.LoadFromEnumerable(
                    Enumerable.Range(0, rows).Select(i => new BinaryRow { Label = labels[i] > 0.5, Features = Row(i) }),
                    schema
                );
            }
            case MlTask.Multiclass:
            {
                var schema = Schema<KeyRow>(layout);
                schema[Label].ColumnType = new KeyDataViewType(typeof(uint), classCount);
                // A key-typed field holds the 0-based class index; the view shifts it to ML.NET's 1-based key (0 =
                // missing).
                return ml.Data.LoadFromEnumerable(
                    Enumerable.Range(0, rows).Select(i => new KeyRow { Label = (uint)labels[i], Features = Row(i) }),
                    schema
                );
            }
            default:
            {
                var schema = Schema<ValueRow>(layout);
                return ml.Data.LoadFromEnumerable(
                    Enumerable.Range(0, rows).Select(i => new ValueRow { Label = (float)labels[i], Features = Row(i) }),
                    schema
                );
            }
        }
    }

    /// <summary>A label-free view (for scoring with an ML.NET transformer, e.g. to compare predictions or fit a
    /// calibrator).</summary>
    public static IDataView CreateUnlabelled(
        MLContext ml,
        float[] features,
        int rows,
        int width,
        SlotLayout? layout = null
    )
    {
        layout ??= SlotLayout.Plain(width);
        return ml.Data.LoadFromEnumerable(
            Enumerable
                .Range(0, rows)
                .Select(i => new FeatureRow { Features = layout.Expand(features.AsSpan(i * width, width)) }),
            Schema<FeatureRow>(layout)
        );
    }

    private static SchemaDefinition Schema<T>(SlotLayout layout)
    {
        var schema = SchemaDefinition.Create(typeof(T));
        var column = schema[Features];
        column.ColumnType = new VectorDataViewType(NumberDataViewType.Single, layout.Width);
        var ranges = layout.CategoricalRanges();
        if (ranges.Length > 0)
            column.AddAnnotation(
                CategoricalSlotRanges,
                new VBuffer<int>(ranges.Length, ranges),
                new VectorDataViewType(NumberDataViewType.Int32, ranges.Length)
            );
        return schema;
    }
}
