using System.Text;
using Mlops.Core;
using Mlops.Data.Tabular;

namespace Mlops.Data.Versions;

/// <summary>Training sets: which accepted versions a run trains on (replace or append), planned and
/// materialized.</summary>
public sealed partial class DatasetStore
{
    // ------------------------------------------------------------------ training sets

    /// <summary>
    /// Assembles the training set: in <see cref="TrainingSetMode.Replace"/> mode the newest usable version; in
    /// <see cref="TrainingSetMode.Append"/> mode all usable versions since the cutoff, oldest first, concatenated by
    /// column name (a column absent from an older version is filled with missing values). Quarantined versions are
    /// never included. The manifest is stored so the set can be recovered from its <see cref="TrainingSet.Id"/> (record
    /// it in lineage).
    /// </summary>
    /// <exception cref="DataException"><c>data.no_usable_version</c> (409) when nothing qualifies;
    /// <c>data.version_not_found</c> for an unknown SinceHash.</exception>
    public async Task<TrainingSet> GetTrainingSetAsync(
        string dataset,
        TrainingSetRequest? request = null,
        CancellationToken cancellationToken = default
    )
    {
        var manifest = await PlanTrainingSetAsync(dataset, request, cancellationToken).ConfigureAwait(false);
        var tables = new List<DataTable>();
        foreach (var h in manifest.Hashes)
            tables.Add(await LoadTableAsync(dataset, h, cancellationToken).ConfigureAwait(false));
        return new TrainingSet(manifest, tables.Count == 1 ? tables[0] : Concat(tables));
    }

    /// <summary>
    /// Chooses the versions of a training set and stores its manifest, without reading any data: callers that only
    /// need the version list (a pipeline deciding what its trials train on) skip downloading and parsing every CSV.
    /// </summary>
    /// <exception cref="DataException">As <see cref="GetTrainingSetAsync"/>.</exception>
    public async Task<TrainingSetManifest> PlanTrainingSetAsync(
        string dataset,
        TrainingSetRequest? request = null,
        CancellationToken cancellationToken = default
    )
    {
        request ??= new TrainingSetRequest();
        var all = await ListVersionsAsync(dataset, cancellationToken).ConfigureAwait(false);
        var usable = all.Where(v => v.IsUsable).OrderBy(v => v.Sequence).ToList();
        List<DatasetVersion> chosen;
        if (request.Mode == TrainingSetMode.Replace)
        {
            chosen = usable.Count == 0 ? [] : [usable[^1]];
        }
        else
        {
            long fromSeq = 0;
            if (request.SinceHash is { } sh)
                fromSeq = (all.FirstOrDefault(v => v.Hash == sh) ?? throw NotFound(dataset, sh)).Sequence;
            chosen = usable
                .Where(v => v.Sequence >= fromSeq && (request.Since is null || v.IngestedAt >= request.Since))
                .ToList();
        }
        if (chosen.Count == 0)
            throw new DataException(
                "data.no_usable_version",
                $"Dataset '{dataset}' has no accepted version{(request.Mode == TrainingSetMode.Append ? " in the requested range" : "")} to train on.",
                409
            );

        var hashes = chosen.Select(v => v.Hash).ToList();
        string id =
            request.Mode == TrainingSetMode.Replace
                ? hashes[0]
                : "set-" + ComputeHash(Encoding.UTF8.GetBytes(string.Join("\n", hashes)));
        var manifest = new TrainingSetManifest(
            dataset,
            id,
            request.Mode,
            hashes,
            chosen.Sum(v => v.Rows),
            _clock.UtcNow
        );
        await WriteOnceAsync(
                _options.DatasetsContainer,
                TrainingSetBlobName(dataset, id),
                Json.SerializeToUtf8(manifest, indented: true),
                cancellationToken
            )
            .ConfigureAwait(false);
        return await GetTrainingSetManifestAsync(dataset, id, cancellationToken).ConfigureAwait(false) ?? manifest;
    }

    /// <summary>A stored training-set manifest by id, or null.</summary>
    public Task<TrainingSetManifest?> GetTrainingSetManifestAsync(
        string dataset,
        string id,
        CancellationToken cancellationToken = default
    )
    {
        ValidateDatasetName(dataset);
        return ReadJsonAsync<TrainingSetManifest>(
            _options.DatasetsContainer,
            TrainingSetBlobName(dataset, id),
            cancellationToken
        );
    }

    /// <summary>
    /// Concatenates versions by column name, taking names and kinds from the last (newest) table; a column whose kind
    /// differs between versions is a <see cref="DataException"/> rather than a silent conversion.
    /// </summary>
    public static DataTable Concat(IReadOnlyList<DataTable> tables)
    {
        var newest = tables[^1];
        int total = tables.Sum(t => t.RowCount);
        var cols = new List<Column>(newest.Columns.Count);
        foreach (var template in newest.Columns)
        {
            double[]? nums = template.Numbers is null ? null : new double[total];
            string?[]? strs = template.Strings is null ? null : new string?[total];
            int at = 0;
            foreach (var t in tables)
            {
                var c = t.Find(template.Name);
                if (c is not null && ((nums is null) != (c.Numbers is null) || (strs is null) != (c.Strings is null)))
                    throw new DataException(
                        "data.incompatible_versions",
                        $"Column '{template.Name}' is {c.Kind} in one version and {template.Kind} in another; use replace mode or fix the schema.",
                        409
                    );
                if (nums is not null)
                {
                    if (c is null)
                        nums.AsSpan(at, t.RowCount).Fill(double.NaN);
                    else
                        c.Numbers!.CopyTo(nums, at);
                }
                if (strs is not null && c is not null)
                    c.Strings!.CopyTo(strs, at);
                at += t.RowCount;
            }
            cols.Add(new Column(template.Name, template.Kind, nums, strs));
        }
        return new DataTable(cols);
    }
}
