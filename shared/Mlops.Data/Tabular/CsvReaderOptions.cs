namespace Mlops.Data.Tabular;

/// <summary>Options for <see cref="CsvRecordReader"/> and <see cref="CsvTableReader"/>. Call <see cref="Validate"/>
/// (the readers do) before use.</summary>
public sealed class CsvReaderOptions
{
    /// <summary>Field separator. Default ','.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Whether the first record names the columns. Default true; without a header columns are named column1,
    /// column2, ….</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>Longest record accepted, in characters (a guard against a missing closing quote swallowing the file).
    /// Default 4 Mi characters.</summary>
    public int MaxRecordLength { get; init; } = 4 * 1024 * 1024;

    /// <summary>Field texts read as missing values, compared ordinally. Default: only the empty field (as pandas with
    /// keep_default_na=False).</summary>
    public IReadOnlyList<string> MissingTokens { get; init; } = [""];

    /// <summary>Kinds forced for named columns, overriding inference (e.g. a zip code that must stay
    /// categorical).</summary>
    public IReadOnlyDictionary<string, ColumnKind> ColumnKinds { get; init; } = new Dictionary<string, ColumnKind>();

    /// <summary>A string column with at most this many distinct values may be categorical. Default 1000.</summary>
    public int MaxCategoricalCardinality { get; init; } = 1000;

    /// <summary>A string column with more distinct values than this share of its non-missing values (and more than 20)
    /// is text. Default 0.5.</summary>
    public double MaxCategoricalDistinctRatio { get; init; } = 0.5;

    /// <summary>Rows per chunk for <see cref="CsvTableReader.ReadChunks(Stream, CsvReaderOptions?, int)"/>. Default
    /// 65,536.</summary>
    public int ChunkRows { get; init; } = 65_536;

    public static CsvReaderOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Delimiter is '"' or '\r' or '\n')
            throw new ArgumentException("Delimiter cannot be a quote or a line break.", nameof(Delimiter));
        if (MaxRecordLength < 16)
            throw new ArgumentException("MaxRecordLength must be at least 16.", nameof(MaxRecordLength));
        if (MissingTokens is null)
            throw new ArgumentException("MissingTokens cannot be null.", nameof(MissingTokens));
        if (ColumnKinds is null)
            throw new ArgumentException("ColumnKinds cannot be null.", nameof(ColumnKinds));
        if (MaxCategoricalCardinality < 1)
            throw new ArgumentException(
                "MaxCategoricalCardinality must be positive.",
                nameof(MaxCategoricalCardinality)
            );
        if (MaxCategoricalDistinctRatio is <= 0 or > 1)
            throw new ArgumentException(
                "MaxCategoricalDistinctRatio must be in (0, 1].",
                nameof(MaxCategoricalDistinctRatio)
            );
        if (ChunkRows < 1)
            throw new ArgumentException("ChunkRows must be positive.", nameof(ChunkRows));
    }
}
