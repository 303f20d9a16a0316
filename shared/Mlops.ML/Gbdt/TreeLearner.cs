using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mlops.ML.Gbdt;

/// <summary>
/// Grows one tree leaf-wise on binned data, in the way LightGBM's serial learner does: build the root histogram, then
/// repeatedly split the leaf with the largest gain until <see cref="GbdtOptions.NumLeaves"/> is reached or no split
/// helps. Only the smaller child's histogram is built from rows; the larger one is the parent's minus it. Each leaf
/// owns a contiguous segment of one row-index array, split stably in place. Histograms are built per feature in
/// parallel, each feature by one thread in row order, so the result does not depend on the thread count.
/// </summary>
internal sealed class TreeLearner
{
    private readonly BinnedDataset _data;
    private readonly GbdtOptions _o;
    private readonly ParallelOptions _parallel;
    private readonly int[] _binOffset;
    private readonly int[] _binOffset4;
    private readonly double[]?[] _chunkHist = new double[MaxChunks][];
    private readonly int _totalBins;
    private readonly int[] _indices;
    private readonly int[] _temp;
    private readonly bool[] _goLeft;
    private readonly LeafStats[] _leaves;
    private readonly Stack<double[]> _pool = new();
    private int _leafCount;
    private readonly PhaseTimes _phases;

    public TreeLearner(BinnedDataset data, GbdtOptions options, ParallelOptions parallel, PhaseTimes phases)
    {
        _data = data;
        _o = options;
        _parallel = parallel;
        _phases = phases;
        _binOffset = new int[data.FeatureCount];
        int total = 0;
        for (int f = 0; f < data.FeatureCount; f++)
        {
            _binOffset[f] = total;
            total += data.Mappers[f].BinCount;
        }
        _totalBins = total;
        _binOffset4 = _binOffset.Select(o => o * 4).ToArray();
        _indices = new int[data.RowCount];
        _temp = new int[data.RowCount];
        _goLeft = new bool[data.RowCount];
        _leaves = new LeafStats[options.NumLeaves];
    }

    /// <summary>Leaves of the last tree and their row segments (for updating training scores without
    /// traversal).</summary>
    public int LeafCount => _leafCount;

    public ReadOnlySpan<int> LeafRows(int leaf) => _indices.AsSpan(_leaves[leaf].Begin, _leaves[leaf].Count);

    /// <summary>Grows a tree on rows <paramref name="rows"/> (null = all rows) using the features in <paramref
    /// name="features"/>.</summary>
    public RegressionTree Train(float[] grad, float[] hess, int[]? rows, int rowCount, int[] features, int classIndex)
    {
        if (rows is null)
            for (int i = 0; i < rowCount; i++)
                _indices[i] = i;
        else
            Array.Copy(rows, _indices, rowCount);

        var feature = new List<int>();
        var bin = new List<byte>();
        var threshold = new List<float>();
        var defLeft = new List<bool>();
        var left = new List<int>();
        var right = new List<int>();
        var gains = new List<double>();

        double g = 0,
            h = 0;
        for (int i = 0; i < rowCount; i++)
        {
            int r = _indices[i];
            g += grad[r];
            h += hess[r];
        }
        _leafCount = 1;
        _leaves[0] = new LeafStats
        {
            Begin = 0,
            Count = rowCount,
            Depth = 0,
            ParentNode = -1,
            SumG = g,
            SumH = h,
            Histogram = Rent(),
        };
        BuildHistogram(0, grad, hess, features);
        _leaves[0].Best = FindBestSplit(0, features);

        while (_leafCount < _o.NumLeaves)
        {
            int best = -1;
            double bestGain = 0;
            for (int l = 0; l < _leafCount; l++)
                if (_leaves[l].Best.IsValid && _leaves[l].Best.Gain > bestGain)
                {
                    bestGain = _leaves[l].Best.Gain;
                    best = l;
                }
            if (best < 0)
                break;

            var s = _leaves[best].Best;
            int node = feature.Count;
            feature.Add(s.Feature);
            bin.Add((byte)s.Bin);
            threshold.Add(_data.Mappers[s.Feature].UpperBounds[s.Bin - 1]);
            defLeft.Add(s.DefaultLeft);
            gains.Add(s.Gain);
            int newLeaf = _leafCount++;
            left.Add(~best);
            right.Add(~newLeaf);
            ref var parent = ref _leaves[best];
            if (parent.ParentNode >= 0)
            {
                if (parent.IsLeftChild)
                    left[parent.ParentNode] = node;
                else
                    right[parent.ParentNode] = node;
            }
            int leftCount = Partition(parent.Begin, parent.Count, s.Feature, s.Bin, s.DefaultLeft);
            var parentHist = parent.Histogram!;
            int depth = parent.Depth + 1;
            _leaves[newLeaf] = new LeafStats
            {
                Begin = parent.Begin + leftCount,
                Count = parent.Count - leftCount,
                Depth = depth,
                ParentNode = node,
                IsLeftChild = false,
                SumG = s.RightG,
                SumH = s.RightH,
            };
            parent = ref _leaves[best];
            parent.Count = leftCount;
            parent.Depth = depth;
            parent.ParentNode = node;
            parent.IsLeftChild = true;
            parent.SumG = s.LeftG;
            parent.SumH = s.LeftH;

            bool leftSmaller = leftCount < _leaves[newLeaf].Count;
            int small = leftSmaller ? best : newLeaf,
                large = leftSmaller ? newLeaf : best;
            bool anySplittable = CanSplit(best) || CanSplit(newLeaf);
            if (anySplittable)
            {
                _leaves[small].Histogram = Rent();
                _leaves[large].Histogram = parentHist;
                BuildHistogram(small, grad, hess, features);
                Subtract(parentHist, _leaves[small].Histogram!, features);
                _leaves[best].Best = FindBestSplit(best, features);
                _leaves[newLeaf].Best = FindBestSplit(newLeaf, features);
            }
            else
            {
                _leaves[best].Histogram = null;
                _pool.Push(parentHist);
                _leaves[best].Best = SplitInfo.None;
                _leaves[newLeaf].Best = SplitInfo.None;
            }
        }

        var leafValues = new double[_leafCount];
        for (int l = 0; l < _leafCount; l++)
        {
            leafValues[l] = -ThresholdL1(_leaves[l].SumG) / (_leaves[l].SumH + _o.L2) * _o.LearningRate;
            if (_leaves[l].Histogram is { } hist)
            {
                _pool.Push(hist);
                _leaves[l].Histogram = null;
            }
        }
        return new RegressionTree(
            classIndex,
            feature.ToArray(),
            threshold.ToArray(),
            defLeft.ToArray(),
            left.ToArray(),
            right.ToArray(),
            gains.ToArray(),
            leafValues,
            bin.ToArray()
        );
    }

    private double[] Rent() => _pool.Count > 0 ? _pool.Pop() : new double[_totalBins * 4];

    private bool CanSplit(int leaf)
    {
        ref var l = ref _leaves[leaf];
        if (l.Count < 2 * _o.MinDataInLeaf)
            return false;
        if (_o.MaxDepth > 0 && l.Depth >= _o.MaxDepth)
            return false;
        return true;
    }

    private double ThresholdL1(double g) => _o.L1 <= 0 ? g : Math.Sign(g) * Math.Max(Math.Abs(g) - _o.L1, 0);

    private double Score(double g, double h)
    {
        double t = ThresholdL1(g);
        return t * t / (h + _o.L2);
    }

    /// <summary>Rows per histogram chunk: at least 8,192 and at most 16 chunks per leaf (depends only on the row count,
    /// so results do not depend on threads).</summary>
    private static int ChunkSize(int count) => Math.Max(8192, (count + MaxChunks - 1) / MaxChunks);

    private const int MaxChunks = 16;

    private void BuildHistogram(int leaf, float[] grad, float[] hess, int[] features)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        int begin = _leaves[leaf].Begin,
            count = _leaves[leaf].Count;
        var hist = _leaves[leaf].Histogram!;
        int chunk = ChunkSize(count);
        int chunks = (count + chunk - 1) / chunk;
        if (chunks <= 1)
        {
            Array.Clear(hist);
            Accumulate(hist, begin, begin + count, grad, hess);
        }
        else
        {
            // Each chunk fills its own histogram; chunks are then summed bin by bin in chunk order.
            Parallel.For(0, chunks, _parallel, c =>
            {
                var buf = _chunkHist[c] ??= new double[_totalBins * 4];
                Array.Clear(buf);
                Accumulate(buf, begin + c * chunk, Math.Min(begin + count, begin + (c + 1) * chunk), grad, hess);
            });
            int slices = Math.Min(8, _totalBins);
            int per = (_totalBins + slices - 1) / slices;
            Parallel.For(0, slices, _parallel, sl =>
                SumChunks(hist, chunks, sl * per * 4, Math.Min(_totalBins, (sl + 1) * per) * 4)
            );
        }
        PhaseTimes.AddSince(ref _phases.Histograms, t0);
    }

    private unsafe void SumChunks(double[] hist, int chunks, int from, int to)
    {
        fixed (double* h = hist)
        {
            for (int i = from; i < to; i += 4)
            {
                var acc = Vector256<double>.Zero;
                for (int c = 0; c < chunks; c++)
                    fixed (double* b = _chunkHist[c])
                        acc += Vector256.Load(b + i);
                Vector256.Store(acc, h + i);
            }
        }
    }

    /// <summary>Adds (gradient, hessian, 1) of rows _indices[from..to) to every feature's bin: one 32-byte vector add
    /// per cell.</summary>
    private unsafe void Accumulate(double[] hist, int from, int to, float[] grad, float[] hess)
    {
        int f = _data.FeatureCount;
        fixed (double* h = hist)
        fixed (byte* bins = _data.Bins)
        fixed (int* idx = _indices)
        fixed (int* off = _binOffset4)
        fixed (float* g = grad)
        fixed (float* hs = hess)
        {
            // Rows of a deep leaf are scattered through memory; prefetch a few rows ahead so their bins and gradients
            // arrive before they are needed (the same trick XGBoost's row-wise builder uses).
            const int Ahead = 24;
            bool prefetch = Sse.IsSupported;
            for (int i = from; i < to; i++)
            {
                int r = idx[i];
                if (prefetch && i + Ahead < to)
                {
                    int ra = idx[i + Ahead];
                    Sse.Prefetch0(bins + (long)ra * f);
                    Sse.Prefetch0(g + ra);
                    Sse.Prefetch0(hs + ra);
                }
                var gh = Vector256.Create((double)g[r], hs[r], 1.0, 0.0);
                byte* rb = bins + (long)r * f;
                for (int j = 0; j < f; j++)
                {
                    double* p = h + off[j] + rb[j] * 4;
                    Vector256.Store(Vector256.Load(p) + gh, p);
                }
            }
        }
    }

    private unsafe void Subtract(double[] parent, double[] small, int[] features)
    {
        fixed (double* p = parent)
        fixed (double* s = small)
        {
            for (int i = 0; i < _totalBins * 4; i += 4)
                Vector256.Store(Vector256.Load(p + i) - Vector256.Load(s + i), p + i);
        }
    }

    private SplitInfo FindBestSplit(int leaf, int[] features)
    {
        if (!CanSplit(leaf))
            return SplitInfo.None;
        ref var l = ref _leaves[leaf];
        var hist = l.Histogram!;
        double pg = l.SumG,
            ph = l.SumH;
        int pc = l.Count;
        double parentScore = Score(pg, ph);
        var best = SplitInfo.None;
        int minData = _o.MinDataInLeaf;
        double minHess = _o.MinSumHessianInLeaf;
        foreach (int f in features)
        {
            int off = _binOffset[f] * 4;
            int bins = _data.Mappers[f].BinCount;
            double mg = hist[off],
                mh = hist[off + 1];
            int mc = (int)hist[off + 2];
            double ag = 0,
                ah = 0;
            int ac = 0;
            for (int t = 1; t < bins - 1; t++)
            {
                int o = off + t * 4;
                ag += hist[o];
                ah += hist[o + 1];
                ac += (int)hist[o + 2];
                // Missing values to the right.
                Consider(ref best, f, t, mc == 0 ? ac >= pc - ac : false, ag, ah, ac, pg - ag, ph - ah, pc - ac);
                if (mc > 0)
                    Consider(ref best, f, t, true, ag + mg, ah + mh, ac + mc, pg - ag - mg, ph - ah - mh, pc - ac - mc);
            }
        }
        if (best.IsValid)
        {
            best.Gain -= parentScore;
            if (best.Gain <= _o.MinGainToSplit || best.Gain <= 1e-12)
                return SplitInfo.None;
        }
        return best;

        void Consider(
            ref SplitInfo b,
            int f,
            int t,
            bool defaultLeft,
            double lg,
            double lh,
            int lc,
            double rg,
            double rh,
            int rc
        )
        {
            if (lc < minData || rc < minData || lh < minHess || rh < minHess)
                return;
            double gain = Score(lg, lh) + Score(rg, rh);
            if (gain > b.Gain)
                b = new SplitInfo
                {
                    Feature = f,
                    Bin = t,
                    DefaultLeft = defaultLeft,
                    Gain = gain,
                    LeftG = lg,
                    LeftH = lh,
                    LeftCount = lc,
                    RightG = rg,
                    RightH = rh,
                    RightCount = rc,
                };
        }
    }

    /// <summary>Stable in-place partition of a leaf's rows; returns how many went left.</summary>
    private int Partition(int begin, int count, int feature, int bin, bool defaultLeft)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return PartitionCore(begin, count, feature, bin, defaultLeft);
        }
        finally
        {
            PhaseTimes.AddSince(ref _phases.Partitions, t0);
        }
    }

    private unsafe int PartitionCore(int begin, int count, int feature, int bin, bool defaultLeft)
    {
        if (count >= 2 * PartitionChunk)
            return PartitionParallel(begin, count, feature, bin, defaultLeft);
        var bins = _data.Bins;
        int fc = _data.FeatureCount;
        int w = begin,
            rc = 0;
        int dl = defaultLeft ? 1 : 0;
        fixed (byte* pb = bins)
        fixed (int* idx = _indices)
        fixed (int* tmp = _temp)
        {
            for (int i = begin; i < begin + count; i++)
            {
                int r = idx[i];
                if (Sse.IsSupported && i + 32 < begin + count)
                    Sse.Prefetch0(pb + (long)idx[i + 32] * fc + feature);
                byte b = pb[(long)r * fc + feature];
                // Branch-free: write to both sides, advance one (split directions are unpredictable).
                int goLeft = (b <= bin ? 1 : 0) & (b != 0 ? 1 : 0) | (b == 0 ? dl : 0);
                idx[w] = r;
                tmp[rc] = r;
                w += goLeft;
                rc += 1 - goLeft;
            }
        }
        Array.Copy(_temp, 0, _indices, w, rc);
        return w - begin;
    }

    private const int PartitionChunk = 32_768;

    /// <summary>
    /// Stable partition of a large leaf in two parallel passes over fixed chunks: count each chunk's left rows, then
    /// write every chunk's rows to its precomputed place in the scratch array. Same result as the sequential version.
    /// </summary>
    private unsafe int PartitionParallel(int begin, int count, int feature, int bin, bool defaultLeft)
    {
        int chunks = (count + PartitionChunk - 1) / PartitionChunk;
        var lefts = new int[chunks];
        int fc = _data.FeatureCount;
        var flags = _goLeft;
        Parallel.For(0, chunks, _parallel, c =>
        {
            int from = begin + c * PartitionChunk,
                to = Math.Min(begin + count, from + PartitionChunk);
            int n = 0;
            fixed (byte* pb = _data.Bins)
            fixed (int* idx = _indices)
            {
                for (int i = from; i < to; i++)
                {
                    if (Sse.IsSupported && i + 32 < to)
                        Sse.Prefetch0(pb + (long)idx[i + 32] * fc + feature);
                    byte b = pb[(long)idx[i] * fc + feature];
                    bool goLeft = b == 0 ? defaultLeft : b <= bin;
                    flags[i] = goLeft;
                    n += goLeft ? 1 : 0;
                }
            }
            lefts[c] = n;
        });
        int totalLeft = lefts.Sum();
        var leftStart = new int[chunks];
        var rightStart = new int[chunks];
        for (int c = 1; c < chunks; c++)
        {
            leftStart[c] = leftStart[c - 1] + lefts[c - 1];
            rightStart[c] = rightStart[c - 1] + (PartitionChunk - lefts[c - 1]);
        }
        Parallel.For(0, chunks, _parallel, c =>
        {
            int from = begin + c * PartitionChunk,
                to = Math.Min(begin + count, from + PartitionChunk);
            int l = begin + leftStart[c],
                r = begin + totalLeft + rightStart[c];
            fixed (int* tmp = _temp)
            fixed (int* idx = _indices)
            fixed (bool* fl = flags)
            {
                for (int i = from; i < to; i++)
                {
                    // Only the chosen slot is written: neighbouring chunks own the slots just past this chunk's ranges.
                    int v = idx[i],
                        go = *(byte*)(fl + i);
                    tmp[go != 0 ? l : r] = v;
                    l += go;
                    r += 1 - go;
                }
            }
        });
        Array.Copy(_temp, begin, _indices, begin, count);
        return totalLeft;
    }
}
