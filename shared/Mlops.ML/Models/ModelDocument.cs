using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mlops.ML.Models;

// The on-disk JSON shape (format version 1). Field names are the contract; add fields rather than change them,
// and bump Model.CurrentFormatVersion (with a note here) when old readers could misread a new file.
//   v1 (2026-11): first format — featurizer, gbdt trees or linear weights, metadata.
//   v2 (2026-12): optional "threshold" (binary decision threshold; absent = 0.5). Written only when it is not 0.5,
//                 so a v1 reader never silently predicts at 0.5 for a model tuned to another threshold.
//   (no bump)     optional "cover"/"leafCover" per tree and "slotMeans" for linear models: what explanations need
//                 (TreeSHAP's node weights, the linear reference point). Older readers ignore them and predict the
// same.

internal sealed class ModelDocument
{
    public string Format { get; set; } = Model.FormatName;
    public int FormatVersion { get; set; }
    public string Task { get; set; } = "";
    public string Target { get; set; } = "";
    public string Trainer { get; set; } = "";
    public List<string>? Classes { get; set; }
    public double? Threshold { get; set; }
    public List<InputColumnDto> InputSchema { get; set; } = [];
    public List<FeatureDto> Features { get; set; } = [];
    public Dictionary<string, JsonElement>? Options { get; set; }
    public ModelMetadataDto Metadata { get; set; } = new();
    public GbdtDto? Gbdt { get; set; }
    public LinearDto? Linear { get; set; }
}

internal sealed class ModelMetadataDto
{
    public DateTimeOffset CreatedUtc { get; set; }
    public string? TrainingDataHash { get; set; }
    public int TrainingRows { get; set; }
    public string? Objective { get; set; }
    public int BestIteration { get; set; }
    public string? Library { get; set; }
    public Dictionary<string, double>? Metrics { get; set; }
    public Dictionary<string, string>? Tags { get; set; }
}

internal sealed class InputColumnDto
{
    public string Name { get; set; } = "";
    public string Kind { get; set; } = "";
    public List<string>? Categories { get; set; }
    public bool Used { get; set; }
}

internal sealed class FeatureDto
{
    public string Name { get; set; } = "";
    public int Column { get; set; }
    public string Source { get; set; } = "";
    public int CategoryCount { get; set; }
}

internal sealed class GbdtDto
{
    public int OutputCount { get; set; }
    public double[] InitialScores { get; set; } = [];
    public List<TreeDto> Trees { get; set; } = [];
}

internal sealed class TreeDto
{
    public int Class { get; set; }
    public int[] Feature { get; set; } = [];
    public float[] Threshold { get; set; } = [];
    public bool[] DefaultLeft { get; set; } = [];
    public int[] Left { get; set; } = [];
    public int[] Right { get; set; } = [];
    public double[] Gain { get; set; } = [];
    public double[] LeafValue { get; set; } = [];
    public double[]? Cover { get; set; }
    public double[]? LeafCover { get; set; }
}

internal sealed class LinearDto
{
    public int OutputCount { get; set; }
    public List<LinearTermDto> Terms { get; set; } = [];
    public double[] Weights { get; set; } = [];
    public double[] Intercepts { get; set; } = [];
    public double[]? SlotMeans { get; set; }
}

internal sealed class LinearTermDto
{
    public int Feature { get; set; }
    public int Offset { get; set; }
    public int Slots { get; set; }
    public bool Categorical { get; set; }
    public double Impute { get; set; }
    public double Mean { get; set; }
    public double Scale { get; set; }
}

internal static class ModelJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };
}
