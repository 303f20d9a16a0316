using System.Text;

namespace Mlops.ML.Onnx;

/// <summary>
/// A minimal protocol-buffers writer: just the wire types the ONNX messages we emit use (varint, 32-bit float,
/// length-delimited). Nested messages are written into their own writer and embedded as bytes.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();

    public byte[] ToArray() => _buffer.ToArray();

    private void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    public ProtoWriter Int(int field, long value)
    {
        Tag(field, 0);
        Varint((ulong)value);
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> b = stackalloc byte[4];
        BitConverter.TryWriteBytes(b, value);
        _buffer.Write(b);
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    /// <summary>A packed repeated float field.</summary>
    public ProtoWriter PackedFloats(int field, IEnumerable<float> values)
    {
        var inner = new MemoryStream();
        Span<byte> b = stackalloc byte[4];
        foreach (var v in values)
        {
            BitConverter.TryWriteBytes(b, v);
            inner.Write(b);
        }
        return Bytes(field, inner.ToArray());
    }

    /// <summary>A packed repeated int64 field.</summary>
    public ProtoWriter PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values)
            inner.Varint((ulong)v);
        return Bytes(field, inner.ToArray());
    }
}
