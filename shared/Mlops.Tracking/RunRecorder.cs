using System.Text;
using Mlops.Core;
using Mlops.Core.Storage;

namespace Mlops.Tracking;

/// <summary>
/// Writes a tracked run, the one owner of its layout: container <see cref="RunArtifacts.Container"/>, a folder per run,
/// <c>{runId}/model.json</c>, <c>params.json</c> (<see cref="RunParameters"/>), <c>metrics.jsonl</c> (one
/// <see cref="CurvePoint"/> a line), <c>env.json</c> (<see cref="RunEnvironment"/>), <c>result.json</c>
/// (<see cref="TrialResult"/>, written last: it marks the run done), and a sweep's <c>{sweepId}/sweep.json</c>.
/// <see cref="RunArtifacts"/> reads the same names through the same types.
/// </summary>
/// <remarks>
/// Each write overwrites: activities are at-least-once, and a retried trial writes the same documents again. The
/// methods that the index needs the bytes of return them, so recording a run reads nothing back.
/// </remarks>
public sealed class RunRecorder(IBlobStore blobs)
{
    /// <summary>The trained model (the model file format of Mlops.ML).</summary>
    public const string ModelBlob = "model.json";

    /// <summary>What the run was asked to do (<see cref="RunParameters"/>).</summary>
    public const string ParamsBlob = "params.json";

    /// <summary>The learning curve, one <see cref="CurvePoint"/> a line.</summary>
    public const string CurveBlob = "metrics.jsonl";

    /// <summary>Where and how it trained (<see cref="RunEnvironment"/>).</summary>
    public const string EnvironmentBlob = "env.json";

    /// <summary>The outcome (<see cref="TrialResult"/>); its presence means the run finished.</summary>
    public const string ResultBlob = "result.json";

    /// <summary>A sweep's summary, in the sweep's own folder (<see cref="SweepRecord"/> and what derives from
    /// it).</summary>
    public const string SweepBlob = "sweep.json";

    /// <summary>The blob name of <paramref name="file"/> in the folder of <paramref name="runId"/>.</summary>
    public static string BlobName(string runId, string file) => $"{runId}/{file}";

    /// <summary>Writes the model; returns its blob name in the runs container (what <see cref="TrialResult.ModelBlob"/>
    /// holds).</summary>
    public async Task<string> WriteModelAsync(
        string runId,
        byte[] modelJson,
        CancellationToken cancellationToken = default
    )
    {
        string name = BlobName(runId, ModelBlob);
        await blobs
            .WriteAsync(RunArtifacts.Container, name, modelJson, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return name;
    }

    /// <summary>Writes <c>params.json</c>; returns its bytes.</summary>
    public Task<byte[]> WriteParametersAsync(RunParameters parameters, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return WriteAsync(
            parameters.RunId,
            ParamsBlob,
            Json.SerializeToUtf8(parameters, indented: true),
            cancellationToken
        );
    }

    /// <summary>Writes <c>metrics.jsonl</c>, one point a line; returns its bytes.</summary>
    public Task<byte[]> WriteCurveAsync(
        string runId,
        IEnumerable<CurvePoint> curve,
        CancellationToken cancellationToken = default
    )
    {
        var lines = new StringBuilder();
        foreach (var point in curve)
            lines.Append(Json.Serialize(point)).Append('\n');
        return WriteAsync(runId, CurveBlob, Encoding.UTF8.GetBytes(lines.ToString()), cancellationToken);
    }

    /// <summary>Writes <c>env.json</c>.</summary>
    public Task WriteEnvironmentAsync(
        string runId,
        RunEnvironment environment,
        CancellationToken cancellationToken = default
    ) => WriteAsync(runId, EnvironmentBlob, Json.SerializeToUtf8(environment, indented: true), cancellationToken);

    /// <summary>Writes <c>result.json</c>, which marks the run finished; returns its bytes.</summary>
    public Task<byte[]> WriteResultAsync(TrialResult result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        return WriteAsync(result.RunId, ResultBlob, Json.SerializeToUtf8(result, indented: true), cancellationToken);
    }

    /// <summary>Writes a sweep's <c>sweep.json</c> in its own folder (camelCase, indented).</summary>
    /// <typeparam name="TSweep">
    /// The summary's type: <see cref="SweepRecord"/> or one that derives from it (all its properties are written).
    /// </typeparam>
    public Task WriteSweepAsync<TSweep>(TSweep sweep, CancellationToken cancellationToken = default)
        where TSweep : SweepRecord
    {
        ArgumentNullException.ThrowIfNull(sweep);
        return WriteAsync(sweep.SweepId, SweepBlob, Json.SerializeToUtf8(sweep, indented: true), cancellationToken);
    }

    private async Task<byte[]> WriteAsync(
        string runId,
        string file,
        byte[] content,
        CancellationToken cancellationToken
    )
    {
        await blobs
            .WriteAsync(RunArtifacts.Container, BlobName(runId, file), content, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return content;
    }
}
