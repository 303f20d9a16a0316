using Mlops.ML.Featurization;

namespace Mlops.ML.Gbdt;

/// <summary>
/// Training data as one byte per cell, row-major (<c>Bins[row * FeatureCount + feature]</c>): 1M rows × 28 features
/// take 28 MB, and a histogram pass reads each row's bins contiguously while adding that row's gradient to every
/// feature.
/// </summary>
public sealed class BinnedDataset
{
    private const int Block = 65_536;

    private BinnedDataset(byte[] bins, BinMapper[] mappers, int rows)
    {
        Bins = bins;
        Mappers = mappers;
        RowCount = rows;
    }

    public byte[] Bins { get; }
    public BinMapper[] Mappers { get; }
    public int RowCount { get; }
    public int FeatureCount => Mappers.Length;

    public byte this[int row, int feature] => Bins[(long)row * Mappers.Length + feature];

    /// <summary>Learns bin boundaries from a seeded sample of the rows and bins every feature.</summary>
    public static BinnedDataset Build(
        Featurizer featurizer,
        BoundTable table,
        GbdtOptions options,
        int seed,
        ParallelOptions parallel
    )
    {
        int n = table.RowCount;
        int f = featurizer.FeatureCount;
        int[]? sample = null;
        if (n > options.BinSampleSize)
        {
            var rng = new Random(seed);
            var all = Enumerable.Range(0, n).ToArray();
            // Partial Fisher-Yates: the first BinSampleSize entries are a uniform sample; sorted for sequential reads.
            for (int i = 0; i < options.BinSampleSize; i++)
            {
                int j = rng.Next(i, n);
                (all[i], all[j]) = (all[j], all[i]);
            }
            sample = all.AsSpan(0, options.BinSampleSize).ToArray();
            Array.Sort(sample);
        }
        var mappers = new BinMapper[f];
        var bins = new byte[(long)n * f];
        var values = new float[n];
        for (int j = 0; j < f; j++)
        {
            featurizer.FillFeature(table, j, values);
            mappers[j] = FitMapper(sample is null ? values : sample.Select(i => values[i]).ToArray(), options.MaxBins);
            Scatter(values, mappers[j], bins, j, f, parallel);
        }
        return new BinnedDataset(bins, mappers, n);
    }

    /// <summary>
    /// Bin boundaries of every feature learned from all rows of <paramref name="sample"/> (the out-of-core trainer's
    /// reservoir sample). On the same rows this gives the boundaries <see cref="Build"/> learns when it does not
    /// sample.
    /// </summary>
    public static BinMapper[] FitMappers(Featurizer featurizer, BoundTable sample, int maxBins)
    {
        var values = new float[sample.RowCount];
        var mappers = new BinMapper[featurizer.FeatureCount];
        for (int j = 0; j < mappers.Length; j++)
        {
            featurizer.FillFeature(sample, j, values);
            mappers[j] = FitMapper(values, maxBins);
        }
        return mappers;
    }

    private static BinMapper FitMapper(float[] values, int maxBins)
    {
        var s = values.Where(v => !float.IsNaN(v)).ToArray();
        Array.Sort(s);
        return BinMapper.FromSortedSample(s, maxBins);
    }

    /// <summary>Wraps bins already laid out row-major (<c>bins[row * mappers.Length + feature]</c>), e.g. written while
    /// streaming.</summary>
    public static BinnedDataset FromBins(byte[] bins, BinMapper[] mappers, int rows)
    {
        if (bins.LongLength != BytesFor(rows, mappers.Length))
            throw new ArgumentException(
                $"Expected {BytesFor(rows, mappers.Length)} bin bytes for {rows} rows × {mappers.Length} features, got {bins.LongLength}.",
                nameof(bins)
            );
        return new BinnedDataset(bins, mappers, rows);
    }

    /// <summary>Bytes of the binned store: one per row and feature, nothing else.</summary>
    public static long BytesFor(long rows, int features) => rows * features;

    /// <summary>Bins another table (e.g. a validation split) with boundaries learned on the training data.</summary>
    public static BinnedDataset BuildWith(
        Featurizer featurizer,
        BoundTable table,
        BinMapper[] mappers,
        ParallelOptions parallel
    )
    {
        int n = table.RowCount,
            f = mappers.Length;
        var bins = new byte[(long)n * f];
        var values = new float[n];
        for (int j = 0; j < f; j++)
        {
            featurizer.FillFeature(table, j, values);
            Scatter(values, mappers[j], bins, j, f, parallel);
        }
        return new BinnedDataset(bins, mappers, n);
    }

    private static void Scatter(
        float[] values,
        BinMapper mapper,
        byte[] bins,
        int feature,
        int featureCount,
        ParallelOptions parallel
    )
    {
        int n = values.Length;
        Parallel.For(0, (n + Block - 1) / Block, parallel, b =>
        {
            int end = Math.Min(n, (b + 1) * Block);
            for (int i = b * Block; i < end; i++)
                bins[(long)i * featureCount + feature] = mapper.ValueToBin(values[i]);
        });
    }
}
