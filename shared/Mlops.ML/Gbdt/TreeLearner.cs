namespace Mlops.ML.Gbdt;

/// <summary>
/// Grows one tree leaf-wise on binned data, in the way LightGBM's serial learner does: build the root histogram, then
/// repeatedly split the leaf with the largest gain until <see cref="GbdtOptions.NumLeaves"/> is reached or no split helps.
/// Only the smaller child's histogram is built from rows; the larger one is the parent's minus it. Each leaf owns a
/// contiguous segment of one row-index array, split stably in place. Histograms are built per feature in parallel,
/// each feature by one thread in row order, so the result does not depend on the thread count.
/// </summary>
internal sealed class TreeLearner
{
    private readonly BinnedDataset _data;
    private readonly GbdtOptions _o;
    private readonly ParallelOptions _parallel;
    private readonly int[] _binOffset;
    private readonly int _totalBins;
    private readonly int[] _indices;
    private readonly int[] _temp;
    private readonly float[] _orderedG;
    private readonly float[] _orderedH;
    private readonly LeafStats[] _leaves;
    private readonly Stack<double[]> _pool = new();
    private int _leafCount;
    private bool _identityRoot;

    public TreeLearner(BinnedDataset data, GbdtOptions options, ParallelOptions parallel)
    {
        _data = data;
        _o = options;
        _parallel = parallel;
        _binOffset = new int[data.FeatureCount];
        int total = 0;
        for (int f = 0; f < data.FeatureCount; f++) { _binOffset[f] = total; total += data.Mappers[f].BinCount; }
        _totalBins = total;
        _indices = new int[data.RowCount];
        _temp = new int[data.RowCount];
        _orderedG = new float[data.RowCount];
        _orderedH = new float[data.RowCount];
        _leaves = new LeafStats[options.NumLeaves];
    }

    /// <summary>Leaves of the last tree and their row segments (for updating training scores without traversal).</summary>
    public int LeafCount => _leafCount;
    public ReadOnlySpan<int> LeafRows(int leaf) => _indices.AsSpan(_leaves[leaf].Begin, _leaves[leaf].Count);

    /// <summary>Grows a tree on rows <paramref name="rows"/> (null = all rows) using the features in <paramref name="features"/>.</summary>
    public RegressionTree Train(float[] grad, float[] hess, int[]? rows, int rowCount, int[] features, int classIndex)
    {
        _identityRoot = rows is null;
        if (rows is null) for (int i = 0; i < rowCount; i++) _indices[i] = i;
        else Array.Copy(rows, _indices, rowCount);

        var feature = new List<int>(); var bin = new List<byte>(); var threshold = new List<float>(); var defLeft = new List<bool>();
        var left = new List<int>(); var right = new List<int>(); var gains = new List<double>();

        double g = 0, h = 0;
        for (int i = 0; i < rowCount; i++) { int r = _indices[i]; g += grad[r]; h += hess[r]; }
        _leafCount = 1;
        _leaves[0] = new LeafStats { Begin = 0, Count = rowCount, Depth = 0, ParentNode = -1, SumG = g, SumH = h, Histogram = Rent() };
        BuildHistogram(0, grad, hess, features);
        _identityRoot = false;
        _leaves[0].Best = FindBestSplit(0, features);

        while (_leafCount < _o.NumLeaves)
        {
            int best = -1;
            double bestGain = 0;
            for (int l = 0; l < _leafCount; l++)
                if (_leaves[l].Best.IsValid && _leaves[l].Best.Gain > bestGain) { bestGain = _leaves[l].Best.Gain; best = l; }
            if (best < 0) break;

            var s = _leaves[best].Best;
            int node = feature.Count;
            feature.Add(s.Feature); bin.Add((byte)s.Bin); threshold.Add(_data.Mappers[s.Feature].UpperBounds[s.Bin - 1]);
            defLeft.Add(s.DefaultLeft); gains.Add(s.Gain);
            int newLeaf = _leafCount++;
            left.Add(~best); right.Add(~newLeaf);
            ref var parent = ref _leaves[best];
            if (parent.ParentNode >= 0)
            {
                if (parent.IsLeftChild) left[parent.ParentNode] = node; else right[parent.ParentNode] = node;
            }
            int leftCount = Partition(parent.Begin, parent.Count, s.Feature, s.Bin, s.DefaultLeft);
            var parentHist = parent.Histogram!;
            int depth = parent.Depth + 1;
            _leaves[newLeaf] = new LeafStats
            {
                Begin = parent.Begin + leftCount, Count = parent.Count - leftCount, Depth = depth, ParentNode = node, IsLeftChild = false,
                SumG = s.RightG, SumH = s.RightH,
            };
            parent = ref _leaves[best];
            parent.Count = leftCount; parent.Depth = depth; parent.ParentNode = node; parent.IsLeftChild = true;
            parent.SumG = s.LeftG; parent.SumH = s.LeftH;

            bool leftSmaller = leftCount < _leaves[newLeaf].Count;
            int small = leftSmaller ? best : newLeaf, large = leftSmaller ? newLeaf : best;
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
            if (_leaves[l].Histogram is { } hist) { _pool.Push(hist); _leaves[l].Histogram = null; }
        }
        return new RegressionTree(classIndex, feature.ToArray(), threshold.ToArray(), defLeft.ToArray(), left.ToArray(), right.ToArray(),
            gains.ToArray(), leafValues, bin.ToArray());
    }

    private double[] Rent() => _pool.Count > 0 ? _pool.Pop() : new double[_totalBins * 3];

    private bool CanSplit(int leaf)
    {
        ref var l = ref _leaves[leaf];
        if (l.Count < 2 * _o.MinDataInLeaf) return false;
        if (_o.MaxDepth > 0 && l.Depth >= _o.MaxDepth) return false;
        return true;
    }

    private double ThresholdL1(double g) => _o.L1 <= 0 ? g : Math.Sign(g) * Math.Max(Math.Abs(g) - _o.L1, 0);

    private double Score(double g, double h) { double t = ThresholdL1(g); return t * t / (h + _o.L2); }

    private unsafe void BuildHistogram(int leaf, float[] grad, float[] hess, int[] features)
    {
        int begin = _leaves[leaf].Begin, count = _leaves[leaf].Count;
        var hist = _leaves[leaf].Histogram!;
        bool identity = _identityRoot;
        if (!identity)
        {
            // Gather this leaf's gradients once so every feature pass reads them sequentially.
            for (int i = 0; i < count; i++) { int r = _indices[begin + i]; _orderedG[begin + i] = grad[r]; _orderedH[begin + i] = hess[r]; }
        }
        Parallel.For(0, features.Length, _parallel, fi =>
        {
            int f = features[fi];
            int off = _binOffset[f] * 3;
            int bins = _data.Mappers[f].BinCount;
            Array.Clear(hist, off, bins * 3);
            fixed (double* hp = &hist[off])
            fixed (byte* col = _data.Bins[f])
            fixed (int* idx = &_indices[begin])
            fixed (float* gp = identity ? grad : _orderedG)
            fixed (float* hs = identity ? hess : _orderedH)
            {
                float* gq = identity ? gp : gp + begin;
                float* hq = identity ? hs : hs + begin;
                if (identity)
                {
                    for (int i = 0; i < count; i++)
                    {
                        double* p = hp + col[i] * 3;
                        p[0] += gq[i]; p[1] += hq[i]; p[2] += 1;
                    }
                }
                else
                {
                    for (int i = 0; i < count; i++)
                    {
                        double* p = hp + col[idx[i]] * 3;
                        p[0] += gq[i]; p[1] += hq[i]; p[2] += 1;
                    }
                }
            }
        });
    }

    private void Subtract(double[] parent, double[] small, int[] features)
    {
        foreach (int f in features)
        {
            int off = _binOffset[f] * 3, len = _data.Mappers[f].BinCount * 3;
            for (int i = off; i < off + len; i++) parent[i] -= small[i];
        }
    }

    private SplitInfo FindBestSplit(int leaf, int[] features)
    {
        if (!CanSplit(leaf)) return SplitInfo.None;
        ref var l = ref _leaves[leaf];
        var hist = l.Histogram!;
        double pg = l.SumG, ph = l.SumH;
        int pc = l.Count;
        double parentScore = Score(pg, ph);
        var best = SplitInfo.None;
        int minData = _o.MinDataInLeaf;
        double minHess = _o.MinSumHessianInLeaf;
        foreach (int f in features)
        {
            int off = _binOffset[f] * 3;
            int bins = _data.Mappers[f].BinCount;
            double mg = hist[off], mh = hist[off + 1];
            int mc = (int)hist[off + 2];
            double ag = 0, ah = 0;
            int ac = 0;
            for (int t = 1; t < bins - 1; t++)
            {
                int o = off + t * 3;
                ag += hist[o]; ah += hist[o + 1]; ac += (int)hist[o + 2];
                // Missing values to the right.
                Consider(ref best, f, t, mc == 0 ? ac >= pc - ac : false, ag, ah, ac, pg - ag, ph - ah, pc - ac);
                if (mc > 0) Consider(ref best, f, t, true, ag + mg, ah + mh, ac + mc, pg - ag - mg, ph - ah - mh, pc - ac - mc);
            }
        }
        if (best.IsValid)
        {
            best.Gain -= parentScore;
            if (best.Gain <= _o.MinGainToSplit || best.Gain <= 1e-12) return SplitInfo.None;
        }
        return best;

        void Consider(ref SplitInfo b, int f, int t, bool defaultLeft, double lg, double lh, int lc, double rg, double rh, int rc)
        {
            if (lc < minData || rc < minData || lh < minHess || rh < minHess) return;
            double gain = Score(lg, lh) + Score(rg, rh);
            if (gain > b.Gain)
                b = new SplitInfo { Feature = f, Bin = t, DefaultLeft = defaultLeft, Gain = gain, LeftG = lg, LeftH = lh, LeftCount = lc, RightG = rg, RightH = rh, RightCount = rc };
        }
    }

    /// <summary>Stable in-place partition of a leaf's rows; returns how many went left.</summary>
    private int Partition(int begin, int count, int feature, int bin, bool defaultLeft)
    {
        var col = _data.Bins[feature];
        int w = begin, rc = 0;
        for (int i = begin; i < begin + count; i++)
        {
            int r = _indices[i];
            byte b = col[r];
            bool goLeft = b == 0 ? defaultLeft : b <= bin;
            if (goLeft) _indices[w++] = r; else _temp[rc++] = r;
        }
        Array.Copy(_temp, 0, _indices, w, rc);
        return w - begin;
    }
}
