using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;
using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.Models;
using Mlops.ML.Objectives;
using Mlops.ML.Training;

namespace Mlops.ML.OutOfCore;

/// <summary>Settings of a streaming (out-of-core) training run.</summary>
public sealed record OutOfCoreOptions
{
    /// <summary>
    /// Rows parsed per chunk (default 8,192). Any value gives the same model. The default keeps each chunk's column
    /// arrays (8 bytes a value) under the runtime's 85,000-byte large-object threshold: chunks then live and die in the
    /// compacted small-object heap instead of leaving thousands of holes in the large-object heap, where the binned
    /// store needs one contiguous block (with 65,536-row chunks a 10M-row run failed to allocate under a 1 GB heap
    /// limit it fits in).
    /// </summary>
    public int ChunkRows { get; init; } = 8_192;

    /// <summary>How the CSV is read (column kinds are inferred from the first chunk and kept).</summary>
    public CsvReaderOptions Csv { get; init; } = CsvReaderOptions.Default;
}

/// <summary>What a streaming run read and kept.</summary>
/// <param name="Rows">Data rows in the file.</param>
/// <param name="TrainRows">Rows trained on.</param>
/// <param name="ValidationRows">Rows carved out for early stopping.</param>
/// <param name="UnlabelledRows">Rows without a target (skipped, as the in-memory trainer skips them).</param>
/// <param name="SampleRows">Rows of the reservoir sample the featurizer and bin boundaries were fitted on.</param>
/// <param name="Features">Features per row.</param>
/// <param name="BinnedBytes">Bytes of the binned store: (train + validation rows) × features.</param>
/// <param name="ScanSeconds">First pass: hash, count, sample.</param>
/// <param name="BinSeconds">Second pass: featurize and bin.</param>
/// <param name="TrainSeconds">Boosting.</param>
public sealed record OutOfCoreStats(
    long Rows,
    long TrainRows,
    long ValidationRows,
    long UnlabelledRows,
    int SampleRows,
    int Features,
    long BinnedBytes,
    double ScanSeconds,
    double BinSeconds,
    double TrainSeconds
);

/// <summary>The trained model and what the run kept in memory.</summary>
public sealed record OutOfCoreResult(TrainingResult Result, OutOfCoreStats Stats);

/// <summary>
/// Trains our histogram GBDT on a CSV that does not fit in memory as a table, in two streaming passes over chunks:
/// <list type="number">
/// <item>Scan: count rows and classes, hash the file (lineage), and keep a seeded reservoir sample of
/// <c>bin_sample_size</c> training rows — what LightGBM's <c>bin_construct_sample_cnt</c> does — on which the
/// featurizer (category codes) and the bin boundaries are fitted.</item>
/// <item>Bin: featurize each chunk and write one byte per row and feature into arrays sized exactly from the scan,
/// plus the encoded label. The parsed chunk is dropped right after.</item>
/// </list>
/// Validation rows for early stopping are chosen by a seeded hash of the row index, so both passes (and any chunk size)
/// agree without remembering them. The result is an ordinary <see cref="Model"/> (same featurizer and ensemble format):
/// serving and ONNX export do not know how it was trained. Resident memory is about (features + 17 + 16 × outputs)
/// bytes per training row: the bins, the label, the scores, gradients and hessians, and the tree learner's row indices.
/// </summary>
public static class OutOfCoreTrainer
{
    /// <summary>Trains from a CSV file (read twice).</summary>
    public static OutOfCoreResult TrainFile(
        string path,
        TrainingSpec spec,
        OutOfCoreOptions? options = null,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default
    ) =>
        Train(
            () =>
                new FileStream(
                    path,
                    FileMode.Open,
                    FileAccess.Read,
                    FileShare.Read,
                    1 << 20,
                    FileOptions.SequentialScan
                ),
            spec,
            options,
            progress,
            cancellationToken
        );

    /// <summary>Trains from a CSV that <paramref name="open"/> opens from the start (called twice; both must give the
    /// same bytes).</summary>
    /// <exception cref="CsvFormatException">A malformed row (the message gives its line).</exception>
    /// <exception cref="MlException">Bad target, no usable features, or the file changed between the
    /// passes.</exception>
    /// <exception cref="ArgumentException">An option out-of-core training does not support, or an invalid
    /// hyperparameter.</exception>
    public static OutOfCoreResult Train(
        Func<Stream> open,
        TrainingSpec spec,
        OutOfCoreOptions? options = null,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new OutOfCoreOptions();
        options.Csv.Validate();
        if (options.ChunkRows < 1)
            throw new ArgumentException("ChunkRows must be positive.", nameof(options));
        var values = GbdtValues(spec);
        var requested = GbdtOptions.FromDictionary(values);
        requested.Validate();
        var watch = Stopwatch.StartNew();
        // The in-memory trainer holds rows out only when early stopping needs them, or uses the given validation set.
        double holdout =
            spec.Validation is null && requested.EarlyStoppingRounds > 0 ? requested.ValidationFraction : 0;

        var scan = Scan(open, spec, holdout, requested.BinSampleSize, options, cancellationToken);
        double scanSeconds = watch.Elapsed.TotalSeconds;
        var classes =
            spec.Task == MlTask.Regression
                ? []
                : ModelTrainer.CheckClasses(spec, Labels.SortClasses(scan.ClassCounts!.Keys));
        var classIndex = classes
            .Select((c, i) => (c, i))
            .ToDictionary(t => t.c, t => (double)t.i, StringComparer.Ordinal);
        var sample = scan.Sample
            ?? throw new MlException("bad_target", $"The file has no training rows with a value in '{spec.Target}'.");
        var sampleY = Encode(sample[spec.Target], spec, classIndex);
        var fz = Featurizer.Fit(
            sample,
            spec.Target,
            spec.Task == MlTask.Multiclass ? null : sampleY,
            spec.Featurization,
            spec.IgnoreColumns ?? []
        );
        // Large-data defaults as for the in-memory trainer; the trees are always grown by our engine.
        var o = GbdtOptions.ForTraining(values, spec.Task, (int)Math.Min(int.MaxValue, scan.TrainRows)) with
        {
            Engine = "mlops",
        };
        var mappers = BinnedDataset.FitMappers(fz, fz.Bind(sample), o.MaxBins);
        sample = null;

        watch.Restart();
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = o.Threads > 0 ? o.Threads : Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        var binned = Bin(open, spec, fz, mappers, scan, classIndex, holdout, options, parallel, cancellationToken);
        var (valid, yValid) = (binned.Valid, binned.YValid);
        if (spec.Validation is not null)
        {
            yValid = TreeModelTraining.EncodeValidation(
                spec,
                new ModelTrainer.EncodedTarget([], classes),
                spec.Validation,
                out var kept
            );
            valid = BinnedDataset.BuildWith(fz, fz.Bind(kept), mappers, parallel);
        }
        double binSeconds = watch.Elapsed.TotalSeconds;

        watch.Restart();
        var objective = Objective.For(
            spec.Task,
            spec.Task == MlTask.Regression ? 1 : classes.Length,
            o.Objective,
            o.HuberDelta
        );
        var output = GbdtTrainer.Train(
            binned.Train,
            binned.YTrain,
            valid,
            valid is null ? null : yValid,
            objective,
            o,
            spec.Seed,
            progress,
            "gbdt",
            cancellationToken
        );
        double trainSeconds = watch.Elapsed.TotalSeconds;

        var hyper = o.ToDictionary();
        long labelled = scan.TrainRows + scan.ValidationRows;
        var meta = ModelTrainer.Metadata(
            scan.Hash,
            (int)Math.Min(int.MaxValue, labelled),
            objective.Name,
            output.BestRound,
            hyper,
            spec.Seed
        );
        var model = new Model(spec.Task, spec.Target, classes, TrainerKind.Gbdt, fz, output.Ensemble, meta).WithTags(
            new Dictionary<string, string>
            {
                ["training.out_of_core"] = "true",
                ["out_of_core.sample_rows"] = scan.SampleRows.ToString(
                    System.Globalization.CultureInfo.InvariantCulture
                ),
            }
        );
        if (spec.Threshold != ThresholdRule.Default)
            model = model.WithThreshold(spec.Threshold.Value);
        var stats = new OutOfCoreStats(
            scan.Rows,
            scan.TrainRows,
            scan.ValidationRows,
            scan.UnlabelledRows,
            scan.SampleRows,
            fz.FeatureCount,
            binned.Train.Bins.LongLength + (binned.Valid?.Bins.LongLength ?? 0),
            scanSeconds,
            binSeconds,
            trainSeconds
        );
        var result = new TrainingResult(
            model,
            TrainerKind.Gbdt,
            output.Curve,
            output.CurveMetric,
            output.BestRound,
            new Dictionary<string, double>(),
            null,
            TimeSpan.FromSeconds(scanSeconds + binSeconds + trainSeconds)
        );
        return new OutOfCoreResult(result, stats);
    }

    /// <summary>True when data row <paramref name="row"/> (0-based) is held out for validation: a seeded hash
    /// (SplitMix64) of the index.</summary>
    internal static bool IsValidationRow(long row, int seed, double fraction)
    {
        if (fraction <= 0)
            return false;
        ulong z = (ulong)row + 0x9E3779B97F4A7C15UL * (1 + (ulong)(uint)seed);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53)) < fraction;
    }

    private sealed record ScanResult(
        long Rows,
        long TrainRows,
        long ValidationRows,
        long UnlabelledRows,
        Dictionary<string, long>? ClassCounts,
        DataTable? Sample,
        int SampleRows,
        string Hash
    );

    private static ScanResult Scan(
        Func<Stream> open,
        TrainingSpec spec,
        double holdout,
        int sampleSize,
        OutOfCoreOptions options,
        CancellationToken ct
    )
    {
        var reservoir = new RowReservoir(sampleSize, spec.Seed);
        var classes = spec.Task == MlTask.Regression ? null : new Dictionary<string, long>(StringComparer.Ordinal);
        long row = 0,
            train = 0,
            valid = 0,
            unlabelled = 0;
        using var hashing = new HashingStream(open());
        foreach (var chunk in ChunkSource.Read(hashing, options.Csv, options.ChunkRows, ct))
        {
            var target = TargetColumn(chunk, spec);
            var labels = classes is null ? null : Labels.AsStrings(target);
            if (classes is null)
                Labels.AsNumbers(target); // a text regression target fails here, with the column named
            for (int r = 0; r < chunk.RowCount; r++, row++)
            {
                if (target.IsMissing(r))
                {
                    unlabelled++;
                    continue;
                }
                if (labels is not null)
                    CollectionsMarshal.GetValueRefOrAddDefault(classes!, labels[r]!, out _)++;
                if (IsValidationRow(row, spec.Seed, holdout))
                {
                    valid++;
                    continue;
                }
                train++;
                reservoir.Offer(chunk, r);
            }
        }
        hashing.CopyTo(Stream.Null); // the hash covers the whole file even if the reader stopped before its end
        var sample = reservoir.ToTable();
        return new ScanResult(row, train, valid, unlabelled, classes, sample, sample?.RowCount ?? 0, hashing.Digest());
    }

    private sealed record BinnedParts(BinnedDataset Train, double[] YTrain, BinnedDataset? Valid, double[] YValid);

    private static BinnedParts Bin(
        Func<Stream> open,
        TrainingSpec spec,
        Featurizer fz,
        BinMapper[] mappers,
        ScanResult scan,
        Dictionary<string, double> classIndex,
        double holdout,
        OutOfCoreOptions options,
        ParallelOptions parallel,
        CancellationToken ct
    )
    {
        int f = mappers.Length;
        // The scan's garbage (the sample, chunk buffers) goes first, compacting the large-object heap once, so the
        // biggest allocations of the run find room in one piece close to the heap limit.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var trainBins = new byte[CheckedBytes(scan.TrainRows, f)];
        var validBins = new byte[CheckedBytes(scan.ValidationRows, f)];
        var yTrain = new double[scan.TrainRows];
        var yValid = new double[scan.ValidationRows];
        long row = 0;
        int t = 0,
            v = 0;
        // Where each row of the chunk goes: a training index (≥ 0), a validation index (~index), or nowhere (no
        // target).
        var destination = Array.Empty<int>();
        const int Skip = int.MinValue;
        using var stream = open();
        foreach (var chunk in ChunkSource.Read(stream, options.Csv, options.ChunkRows, ct))
        {
            int n = chunk.RowCount;
            if (destination.Length < n)
                destination = new int[n];
            var y = Encode(TargetColumn(chunk, spec), spec, classIndex);
            for (int r = 0; r < n; r++, row++)
            {
                if (double.IsNaN(y[r]))
                {
                    destination[r] = Skip;
                    continue;
                }
                if (IsValidationRow(row, spec.Seed, holdout))
                {
                    if (v == yValid.Length)
                        throw Changed();
                    yValid[v] = y[r];
                    destination[r] = ~v++;
                }
                else
                {
                    if (t == yTrain.Length)
                        throw Changed();
                    yTrain[t] = y[r];
                    destination[r] = t++;
                }
            }
            var bound = fz.Bind(chunk);
            var dest = destination;
            // One feature per task: each writes its own byte of every row, so tasks never write the same cell.
            Parallel.For(
                0,
                f,
                parallel,
                () => new float[n],
                (j, _, values) =>
                {
                    fz.FillFeature(bound, j, values);
                    var mapper = mappers[j];
                    for (int r = 0; r < n; r++)
                    {
                        int d = dest[r];
                        if (d == Skip)
                            continue;
                        byte b = mapper.ValueToBin(values[r]);
                        if (d >= 0)
                            trainBins[(long)d * f + j] = b;
                        else
                            validBins[(long)~d * f + j] = b;
                    }
                    return values;
                },
                _ => { }
            );
        }
        if (t != yTrain.Length || v != yValid.Length)
            throw Changed();
        var train = BinnedDataset.FromBins(trainBins, mappers, t);
        var valid = v == 0 ? null : BinnedDataset.FromBins(validBins, mappers, v);
        return new BinnedParts(train, yTrain, valid, yValid);
    }

    /// <summary>Encoded targets of a chunk: class index or value, NaN where the target is missing.</summary>
    private static double[] Encode(Column target, TrainingSpec spec, Dictionary<string, double> classIndex)
    {
        if (spec.Task == MlTask.Regression)
            return Labels.AsNumbers(target);
        var labels = Labels.AsStrings(target);
        var y = new double[labels.Length];
        for (int i = 0; i < y.Length; i++)
            y[i] =
                labels[i] is not { } s ? double.NaN
                : classIndex.TryGetValue(s, out var c) ? c
                : throw Changed();
        return y;
    }

    private static Column TargetColumn(DataTable chunk, TrainingSpec spec) =>
        chunk.Find(spec.Target)
        ?? throw new MlException(
            "bad_target",
            $"Target column '{spec.Target}' is not in the data. Columns: {string.Join(", ", chunk.ColumnNames)}."
        );

    private static long CheckedBytes(long rows, int features)
    {
        long bytes = BinnedDataset.BytesFor(rows, features);
        if (bytes > Array.MaxLength || rows > int.MaxValue)
            throw new MlException(
                "too_large",
                $"{rows:N0} rows × {features} features is {bytes:N0} bins; one training run holds at most {Array.MaxLength:N0} (one byte each). Sample the rows or drop columns."
            );
        return bytes;
    }

    private static MlException Changed() =>
        new(
            "data_changed",
            "The file changed between the two passes of out-of-core training (row or class counts differ); train again on a stable copy."
        );

    /// <summary>The spec's options for the GBDT (a <c>gbdt.</c> prefix is accepted); what streaming cannot do is
    /// refused up front.</summary>
    private static Dictionary<string, object> GbdtValues(TrainingSpec spec)
    {
        if (spec.Trainer != TrainerKind.Gbdt)
            throw new ArgumentException(
                $"Out-of-core training grows gradient-boosted trees only (trainer gbdt), not {spec.Trainer.ToName()}.",
                "trainer"
            );
        if (spec.Threshold.Auto)
            throw new ArgumentException(
                "Out-of-core training takes a fixed threshold only (auto needs out-of-fold predictions of the whole data).",
                "threshold"
            );
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in spec.Options ?? new Dictionary<string, object>())
            values[key.StartsWith("gbdt.", StringComparison.Ordinal) ? key["gbdt.".Length..] : key] = value;
        if (values.TryGetValue("engine", out var engine) && engine is string e && e == "lightgbm")
            throw new ArgumentException(
                "Out-of-core training uses our own GBDT engine: Microsoft.ML's LightGBM copies the whole data into memory. Drop engine=lightgbm.",
                "engine"
            );
        return values;
    }
}
