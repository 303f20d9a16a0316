using Mlops.Data.Tabular;

namespace Mlops.ML.Featurization;

/// <summary>One column a model expects at prediction time, as learned from the training data.</summary>
/// <param name="Name">Column name as in the training data.</param>
/// <param name="Kind">Kind inferred when training; requests are checked against it.</param>
/// <param name="Categories">Known categories (most frequent first, capped) for categorical columns; others map to an
/// "other" bucket.</param>
/// <param name="Used">False for columns the model ignores (free text), which are accepted but not needed.</param>
public sealed record InputColumn(string Name, ColumnKind Kind, IReadOnlyList<string>? Categories, bool Used);

/// <summary>What kind of problem a prediction input had.</summary>
public enum InputIssueKind
{
    /// <summary>A column the model uses is absent; it is treated as missing (warning).</summary>
    MissingColumn,

    /// <summary>The row has a column the model does not know (warning; ignored).</summary>
    UnknownColumn,

    /// <summary>A value has the wrong JSON type or does not parse (error: no prediction).</summary>
    WrongType,

    /// <summary>A categorical value not seen in training; it goes to the "other" bucket (warning).</summary>
    UnseenCategory,
}

/// <summary>A problem with one column of a prediction input; <see cref="IsError"/> issues prevent the
/// prediction.</summary>
public sealed record InputIssue(string Column, InputIssueKind Kind, string Message)
{
    public bool IsError => Kind == InputIssueKind.WrongType;
}
