using System.Runtime.InteropServices;
using Mlops.ML.MlNet;

namespace Mlops.ML.LightGbm;

/// <summary>
/// The few functions of LightGBM's C API we train with. The library name is the one the LightGBM NuGet package ships
/// under <c>runtimes/&lt;rid&gt;/native</c>; the package's native asset is listed in every consumer's deps.json (CLI
/// tool, Functions worker publish, test hosts), so the runtime's own native probing finds it without a path of ours.
/// Every call returns 0 on success; <see cref="Check"/> turns anything else into an <see cref="MlException"/> carrying
/// LightGBM's own message.
/// </summary>
internal static partial class LightGbmNative
{
    private const string Library = "lib_lightgbm";

    /// <summary>C_API_DTYPE_FLOAT32.</summary>
    public const int Float32 = 0;

    /// <summary>C_API_DTYPE_FLOAT64.</summary>
    public const int Float64 = 1;

    /// <summary>C_API_PREDICT_RAW_SCORE: the sum of the trees, before any sigmoid or softmax.</summary>
    public const int PredictRawScore = 1;

    /// <summary>C_API_PREDICT_CONTRIB: LightGBM's own TreeSHAP, per output the features' values then the expected
    /// value.</summary>
    public const int PredictContributions = 3;

    [LibraryImport(Library, EntryPoint = "LGBM_GetLastError")]
    private static partial IntPtr GetLastError();

    [LibraryImport(Library, EntryPoint = "LGBM_DatasetCreateFromMat", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int DatasetCreateFromMat(
        void* data,
        int dataType,
        int rows,
        int columns,
        int isRowMajor,
        string parameters,
        IntPtr reference,
        out IntPtr dataset
    );

    [LibraryImport(Library, EntryPoint = "LGBM_DatasetSetField", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int DatasetSetField(IntPtr dataset, string field, void* data, int count, int dataType);

    [LibraryImport(Library, EntryPoint = "LGBM_DatasetFree")]
    public static partial int DatasetFree(IntPtr dataset);

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterCreate", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int BoosterCreate(IntPtr train, string parameters, out IntPtr booster);

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterLoadModelFromString", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int BoosterLoadModelFromString(string model, out int iterations, out IntPtr booster);

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterAddValidData")]
    public static partial int BoosterAddValidData(IntPtr booster, IntPtr valid);

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterUpdateOneIter")]
    public static partial int BoosterUpdateOneIter(IntPtr booster, out int isFinished);

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterGetEvalCounts")]
    public static partial int BoosterGetEvalCounts(IntPtr booster, out int count);

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterGetEval")]
    public static unsafe partial int BoosterGetEval(IntPtr booster, int dataIndex, out int count, double* results);

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterSaveModelToString")]
    public static unsafe partial int BoosterSaveModelToString(
        IntPtr booster,
        int startIteration,
        int iterations,
        int importanceType,
        long bufferLength,
        out long length,
        byte* buffer
    );

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterPredictForMat", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int BoosterPredictForMat(
        IntPtr booster,
        void* data,
        int dataType,
        int rows,
        int columns,
        int isRowMajor,
        int predictType,
        int startIteration,
        int iterations,
        string parameters,
        out long length,
        double* results
    );

    [LibraryImport(Library, EntryPoint = "LGBM_BoosterFree")]
    public static partial int BoosterFree(IntPtr booster);

    /// <summary>Throws LightGBM's last error when <paramref name="result"/> is not 0.</summary>
    public static void Check(int result, string what)
    {
        if (result == 0)
            return;
        string message = Marshal.PtrToStringUTF8(GetLastError()) ?? "no message";
        throw new MlException("lightgbm_failed", $"LightGBM failed to {what}: {message}");
    }

    /// <summary>
    /// Loads nothing by itself, but must run before the first call: OpenMP reads its wait policy once, when LightGBM
    /// (and with it OpenMP) is loaded (see <see cref="OpenMpWaitPolicy"/>).
    /// </summary>
    public static void PrepareProcess() => OpenMpWaitPolicy.EnsurePassive();
}

/// <summary>A LightGBM dataset handle, freed on dispose.</summary>
internal sealed class LightGbmDataset : IDisposable
{
    private LightGbmDataset(IntPtr handle) => Handle = handle;

    public IntPtr Handle { get; private set; }

    /// <summary>
    /// A dataset over row-major float32 rows (LightGBM bins them at once and keeps no reference to the buffer), labels
    /// converted to the float32 LightGBM stores. <paramref name="reference"/> shares its bin boundaries (validation
    /// data).
    /// </summary>
    public static unsafe LightGbmDataset Create(
        float[] features,
        int rows,
        int columns,
        ReadOnlySpan<double> labels,
        string parameters,
        LightGbmDataset? reference = null
    )
    {
        if (features.LongLength < (long)rows * columns)
            throw new ArgumentException("The feature buffer is smaller than rows × columns.", nameof(features));
        if (labels.Length != rows)
            throw new ArgumentException("One label per row is needed.", nameof(labels));
        LightGbmNative.PrepareProcess();
        IntPtr handle;
        fixed (float* data = features)
            LightGbmNative.Check(
                LightGbmNative.DatasetCreateFromMat(
                    data,
                    LightGbmNative.Float32,
                    rows,
                    columns,
                    1,
                    parameters,
                    reference?.Handle ?? IntPtr.Zero,
                    out handle
                ),
                "build its dataset"
            );
        var dataset = new LightGbmDataset(handle);
        try
        {
            var label = new float[rows];
            for (int i = 0; i < rows; i++)
                label[i] = (float)labels[i];
            fixed (float* l = label)
                LightGbmNative.Check(
                    LightGbmNative.DatasetSetField(handle, "label", l, rows, LightGbmNative.Float32),
                    "set the labels"
                );
        }
        catch
        {
            dataset.Dispose();
            throw;
        }
        return dataset;
    }

    public void Dispose()
    {
        if (Handle == IntPtr.Zero)
            return;
        LightGbmNative.DatasetFree(Handle);
        Handle = IntPtr.Zero;
    }
}

/// <summary>A LightGBM booster handle, freed on dispose.</summary>
internal sealed class LightGbmBooster : IDisposable
{
    private LightGbmBooster(IntPtr handle) => Handle = handle;

    public IntPtr Handle { get; private set; }

    public static LightGbmBooster Create(LightGbmDataset train, string parameters)
    {
        LightGbmNative.Check(
            LightGbmNative.BoosterCreate(train.Handle, parameters, out var handle),
            "create its booster"
        );
        return new LightGbmBooster(handle);
    }

    /// <summary>A booster from LightGBM's model text (used to check our conversion against LightGBM's own
    /// predictions).</summary>
    public static LightGbmBooster FromModelText(string model)
    {
        LightGbmNative.PrepareProcess();
        LightGbmNative.Check(LightGbmNative.BoosterLoadModelFromString(model, out _, out var handle), "load a model");
        return new LightGbmBooster(handle);
    }

    public void AddValidation(LightGbmDataset valid) =>
        LightGbmNative.Check(LightGbmNative.BoosterAddValidData(Handle, valid.Handle), "add the validation data");

    /// <summary>One boosting round; false when LightGBM cannot grow the ensemble any further (no split gains
    /// anything).</summary>
    public bool UpdateOneRound()
    {
        LightGbmNative.Check(LightGbmNative.BoosterUpdateOneIter(Handle, out int finished), "train a round");
        return finished == 0;
    }

    /// <summary>The first metric on data set <paramref name="dataIndex"/> (0 training, 1 the first validation
    /// set).</summary>
    public unsafe double FirstMetric(int dataIndex)
    {
        LightGbmNative.Check(LightGbmNative.BoosterGetEvalCounts(Handle, out int count), "count its metrics");
        if (count < 1)
            throw new MlException("lightgbm_failed", "LightGBM reports no metric to stop early on.");
        var results = new double[count];
        fixed (double* r = results)
            LightGbmNative.Check(
                LightGbmNative.BoosterGetEval(Handle, dataIndex, out _, r),
                "evaluate the validation data"
            );
        return results[0];
    }

    /// <summary>The first <paramref name="rounds"/> rounds as LightGBM's model text (≤ 0: all rounds).</summary>
    public unsafe string ModelText(int rounds)
    {
        LightGbmNative.Check(
            LightGbmNative.BoosterSaveModelToString(Handle, 0, rounds, 0, 0, out long length, null),
            "size its model text"
        );
        var buffer = new byte[length];
        fixed (byte* b = buffer)
            LightGbmNative.Check(
                LightGbmNative.BoosterSaveModelToString(Handle, 0, rounds, 0, length, out _, b),
                "write its model text"
            );
        int end = Array.IndexOf(buffer, (byte)0);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end);
    }

    /// <summary>Raw scores (rows × outputs, row-major) of row-major float32 rows.</summary>
    public double[] PredictRaw(
        float[] features,
        int rows,
        int columns,
        int outputs,
        string parameters = "num_threads=1"
    ) => Predict(features, rows, columns, LightGbmNative.PredictRawScore, outputs, parameters);

    /// <summary>
    /// LightGBM's own TreeSHAP values (rows × outputs × (columns + 1), row-major: per output the columns' values, then
    /// the expected value): the independent reference our <see cref="Explain.TreeShap"/> is tested against.
    /// </summary>
    public double[] PredictContributions(
        float[] features,
        int rows,
        int columns,
        int outputs,
        string parameters = "num_threads=1"
    ) => Predict(features, rows, columns, LightGbmNative.PredictContributions, outputs * (columns + 1), parameters);

    private unsafe double[] Predict(
        float[] features,
        int rows,
        int columns,
        int predictType,
        int valuesPerRow,
        string parameters
    )
    {
        var result = new double[(long)rows * valuesPerRow];
        fixed (float* data = features)
        fixed (double* r = result)
            LightGbmNative.Check(
                LightGbmNative.BoosterPredictForMat(
                    Handle,
                    data,
                    LightGbmNative.Float32,
                    rows,
                    columns,
                    1,
                    predictType,
                    0,
                    -1,
                    parameters,
                    out long length,
                    r
                ),
                "predict"
            );
        return result;
    }

    public void Dispose()
    {
        if (Handle == IntPtr.Zero)
            return;
        LightGbmNative.BoosterFree(Handle);
        Handle = IntPtr.Zero;
    }
}
