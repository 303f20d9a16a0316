using System.Globalization;
using Mlops.Core;
using Mlops.Core.Storage;

namespace Mlops.Tracking;

/// <summary>
/// Every indexed run, held in memory and kept current from a change feed, so listing 10,000 runs is not a 10,000-row
/// table scan on every page load. The first listing scans the index; later ones read only the feed's recent rows
/// (<c>runchanges</c>: one row per index write, keyed by write time). Rows written by other hosts are found too: each
/// refresh re-reads a margin of <see cref="ClockSkewMargin"/> before the last one, so clocks (and a write's latency)
/// may be off by that much; and a full scan every <see cref="RescanInterval"/> bounds how long anything else could be
/// missed.
/// </summary>
internal sealed class RunSnapshot(ITableStore tables, IClock clock)
{
    public const string ChangesTable = "runchanges";
    private const string ChangesPartition = "all";

    /// <summary>How far back each refresh re-reads the feed (writers' clocks and write latency).</summary>
    public static readonly TimeSpan ClockSkewMargin = TimeSpan.FromMinutes(1);

    /// <summary>The snapshot is rebuilt from a full scan this often.</summary>
    public static readonly TimeSpan RescanInterval = TimeSpan.FromMinutes(10);

    /// <summary>Listings this close together share one refresh.</summary>
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(200);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private Dictionary<string, RunRecord>? _runs;
    private DateTimeOffset _readFrom;
    private DateTimeOffset _refreshedAt;
    private DateTimeOffset _scannedAt;

    /// <summary>The feed row of an index write: the same properties, keyed by write time, with the run's keys as
    /// properties.</summary>
    public TableRow FeedRow(TableRow indexRow)
    {
        var row = new TableRow(ChangesPartition, $"{FeedKey(clock.UtcNow)}|{indexRow.RowKey}", indexRow.Properties)
        {
            ["RunId"] = indexRow.RowKey,
            ["Pipeline"] = indexRow.PartitionKey,
        };
        return row;
    }

    /// <summary>The runs as of now: a scan the first time, then the feed since the last refresh (minus the
    /// margin).</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(
        Func<TableRow, RunRecord> parse,
        CancellationToken cancellationToken
    )
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = clock.UtcNow;
            if (_runs is null || now - _scannedAt >= RescanInterval)
            {
                // Anything written while the scan runs is at or after this point of the feed, so the next refresh sees
                // it.
                var readFrom = now - ClockSkewMargin;
                var rows = await tables.QueryAllAsync(RunIndex.Table, cancellationToken).ConfigureAwait(false);
                _runs = rows.Select(parse).ToDictionary(r => r.RunId, StringComparer.Ordinal);
                (_readFrom, _refreshedAt, _scannedAt) = (readFrom, now, now);
            }
            else if (now - _refreshedAt >= RefreshInterval)
            {
                var changes = await tables
                    .QueryAsync(
                        ChangesTable,
                        ChangesPartition,
                        FeedKey(_readFrom),
                        cancellationToken: cancellationToken
                    )
                    .ConfigureAwait(false);
                foreach (var change in changes)
                {
                    if (change.GetString("RunId") is not { } runId || change.GetString("Pipeline") is not { } pipeline)
                        continue;
                    var properties = change.Properties.Where(p => p.Key is not ("RunId" or "Pipeline")).ToDictionary();
                    _runs[runId] = parse(new TableRow(pipeline, runId, properties));
                }
                (_readFrom, _refreshedAt) = (now - ClockSkewMargin, now);
            }
            return _runs.Values.ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Feed keys sort by time: UTC ticks, fixed width.</summary>
    private static string FeedKey(DateTimeOffset at) => at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture);
}
