using Mlops.ML.Featurization;

namespace Mlops.ML.Gbdt;

/// <summary>
/// Training data as one byte per cell, row-major (<c>Bins[row * FeatureCount + feature]</c>): 1M rows × 28 features take
/// 28 MB, and a histogram pass reads each row's bins contiguously while adding that row's gradient to every feature.
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
    public static BinnedDataset Build(Featurizer featurizer, BoundTable table, GbdtOptions options, int seed, ParallelOptions parallel)
    {
        int n = table.RowCount;
        int f = featurizer.FeatureCount;
        int[]? sample = null;
        if (n > options.BinSampleSize)
        {
            var rng = new Random(seed);
            var all = Enumerable.Range(0, n).ToArray();
            // Partial Fisher-Yates: the first BinSampleSize entries are a uniform sample; sorted for sequential reads.
            for (int i = 0; i < options.BinSampleSize; i++) { int j = rng.Next(i, n); (all[i], all[j]) = (all[j], all[i]); }
            sample = all.AsSpan(0, options.BinSampleSize).ToArray();
            Array.Sort(sample);
        }
        var mappers = new BinMapper[f];
        var bins = new byte[(long)n * f];
        var values = new float[n];
        for (int j = 0; j < f; j++)
        {
            featurizer.FillFeature(table, j, values);
            var s = sample is null ? values.Where(v => !float.IsNaN(v)).ToArray() : sample.Select(i => values[i]).Where(v => !float.IsNaN(v)).ToArray();
            Array.Sort(s);
            mappers[j] = BinMapper.FromSortedSample(s, options.MaxBins);
            Scatter(values, mappers[j], bins, j, f, parallel);
        }
        return new BinnedDataset(bins, mappers, n);
    }

    /// <summary>Bins another table (e.g. a validation split) with boundaries learned on the training data.</summary>
    public static BinnedDataset BuildWith(Featurizer featurizer, BoundTable table, BinMapper[] mappers, ParallelOptions parallel)
    {
        int n = table.RowCount, f = mappers.Length;
        var bins = new byte[(long)n * f];
        var values = new float[n];
        for (int j = 0; j < f; j++)
        {
            featurizer.FillFeature(table, j, values);
            Scatter(values, mappers[j], bins, j, f, parallel);
        }
        return new BinnedDataset(bins, mappers, n);
    }

    private static void Scatter(float[] values, BinMapper mapper, byte[] bins, int feature, int featureCount, ParallelOptions parallel)
    {
        int n = values.Length;
        Parallel.For(0, (n + Block - 1) / Block, parallel, b =>
        {
            int end = Math.Min(n, (b + 1) * Block);
            for (int i = b * Block; i < end; i++) bins[(long)i * featureCount + feature] = mapper.ValueToBin(values[i]);
        });
    }
}
