namespace Mlops.ML.Onnx;

/// <summary>
/// Builds an ONNX <c>ModelProto</c> (IR version 8; opsets: default domain 13, <c>ai.onnx.ml</c> 3) node by node and
/// serializes it with <see cref="ProtoWriter"/>. Field numbers follow onnx.proto.
/// </summary>
internal sealed class OnnxGraph
{
    public const int FloatType = 1,
        Int64Type = 7,
        StringType = 8;
    public const string MlDomain = "ai.onnx.ml";

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _nameCounter;

    /// <summary>A fresh value name with a readable prefix.</summary>
    public string Name(string prefix) => $"{prefix}_{_nameCounter++}";

    /// <summary>A graph input or output of shape [N, <paramref name="width"/>] (N symbolic).</summary>
    private static ProtoWriter ValueInfo(string name, int elementType, long width)
    {
        var shape = new ProtoWriter()
            .Message(1, new ProtoWriter().String(2, "N"))
            .Message(1, new ProtoWriter().Int(1, width));
        var tensor = new ProtoWriter().Int(1, elementType).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensor));
    }

    public void Input(string name, int elementType) => _inputs.Add(ValueInfo(name, elementType, 1));

    public void Output(string name, int elementType, long width) => _outputs.Add(ValueInfo(name, elementType, width));

    /// <summary>A float constant of shape [values.Length].</summary>
    public string Constant(string prefix, params float[] values)
    {
        string name = Name(prefix);
        _initializers.Add(
            new ProtoWriter().Int(1, values.Length).Int(2, FloatType).PackedFloats(4, values).String(8, name)
        );
        return name;
    }

    /// <summary>Adds a node; returns its (single) output name.</summary>
    public string Node(
        string opType,
        string[] inputs,
        string? output = null,
        string domain = "",
        params Attribute[] attributes
    )
    {
        output ??= Name(opType.ToLowerInvariant());
        var node = new ProtoWriter();
        foreach (var i in inputs)
            node.String(1, i);
        node.String(2, output).String(3, Name("node")).String(4, opType);
        foreach (var a in attributes)
            node.Message(5, a.ToProto());
        if (domain.Length > 0)
            node.String(7, domain);
        _nodes.Add(node);
        return output;
    }

    public byte[] Serialize(string graphName)
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes)
            graph.Message(1, n);
        graph.String(2, graphName);
        foreach (var t in _initializers)
            graph.Message(5, t);
        foreach (var i in _inputs)
            graph.Message(11, i);
        foreach (var o in _outputs)
            graph.Message(12, o);
        return new ProtoWriter()
            .Int(1, 8)
            .String(2, "Mlops.ML")
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Int(2, 13))
            .Message(8, new ProtoWriter().String(1, MlDomain).Int(2, 3))
            .ToArray();
    }

    /// <summary>A node attribute (AttributeProto): one of the value kinds ONNX-ML operators take.</summary>
    public abstract record Attribute(string Name)
    {
        public abstract ProtoWriter ToProto();
    }

    public sealed record IntAttr(string Name, long Value) : Attribute(Name)
    {
        public override ProtoWriter ToProto() => new ProtoWriter().String(1, Name).Int(3, Value).Int(20, 2);
    }

    public sealed record FloatAttr(string Name, float Value) : Attribute(Name)
    {
        public override ProtoWriter ToProto() => new ProtoWriter().String(1, Name).Float(2, Value).Int(20, 1);
    }

    public sealed record StringAttr(string Name, string Value) : Attribute(Name)
    {
        public override ProtoWriter ToProto() => new ProtoWriter().String(1, Name).String(4, Value).Int(20, 3);
    }

    public sealed record FloatsAttr(string Name, IReadOnlyList<float> Values) : Attribute(Name)
    {
        public override ProtoWriter ToProto() => new ProtoWriter().String(1, Name).PackedFloats(7, Values).Int(20, 6);
    }

    public sealed record IntsAttr(string Name, IReadOnlyList<long> Values) : Attribute(Name)
    {
        public override ProtoWriter ToProto() => new ProtoWriter().String(1, Name).PackedInts(8, Values).Int(20, 7);
    }

    public sealed record StringsAttr(string Name, IReadOnlyList<string> Values) : Attribute(Name)
    {
        public override ProtoWriter ToProto()
        {
            var p = new ProtoWriter().String(1, Name);
            foreach (var v in Values)
                p.String(9, v);
            return p.Int(20, 8);
        }
    }
}
