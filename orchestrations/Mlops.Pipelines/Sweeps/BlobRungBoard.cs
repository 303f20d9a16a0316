using System.Globalization;
using System.Text;
using Mlops.Core.Storage;

namespace Mlops.Pipelines.Sweeps;

/// <summary>
/// Rung values of one sweep in blob storage, <c>runs/{sweepId}/rungs/{round}/{runId}</c> (the value as text): trials
/// running in other activities, possibly on other machines, see each other's values. Which trials a trial sees depends
/// on timing, as in any asynchronous successive halving; the orchestrator stays deterministic because it only reads the
/// trial's recorded outcome. A retried trial overwrites its own value and reads the same board.
/// </summary>
public sealed class BlobRungBoard(IBlobStore blobs, string container, string sweepId) : IRungBoard
{
    public async Task<IReadOnlyList<double>> ReportAsync(
        int round,
        string runId,
        double value,
        CancellationToken cancellationToken = default
    )
    {
        string prefix = $"{sweepId}/rungs/{round:D6}/";
        await blobs
            .WriteAsync(
                container,
                prefix + runId,
                Encoding.UTF8.GetBytes(value.ToString("R", CultureInfo.InvariantCulture)),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        var others = new List<double>();
        await foreach (var blob in blobs.ListAsync(container, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (blob.Name == prefix + runId)
                continue;
            if (
                await blobs.ReadAsync(container, blob.Name, cancellationToken).ConfigureAwait(false) is { } content
                && double.TryParse(
                    Encoding.UTF8.GetString(content.Data),
                    NumberStyles.Float,
                    CultureInfo.InvariantCulture,
                    out double other
                )
            )
                others.Add(other);
        }
        return others;
    }
}
