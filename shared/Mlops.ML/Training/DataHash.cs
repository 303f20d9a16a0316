using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Mlops.Data.Tabular;

namespace Mlops.ML.Training;

/// <summary>SHA-256 of a table's content (names, kinds, values in order), recorded in models for lineage.</summary>
public static class DataHash
{
    public static string Compute(DataTable table)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> len = stackalloc byte[4];
        foreach (var c in table.Columns)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{c.Name}\u001f{c.Kind}\u001e"));
            if (c.Numbers is not null && c.IsNumericLike)
                hash.AppendData(MemoryMarshal.AsBytes(c.Numbers.AsSpan()));
            else
            {
                foreach (var s in c.Strings!)
                {
                    if (s is null)
                    {
                        BitConverter.TryWriteBytes(len, -1);
                        hash.AppendData(len);
                        continue;
                    }
                    BitConverter.TryWriteBytes(len, s.Length);
                    hash.AppendData(len);
                    hash.AppendData(MemoryMarshal.AsBytes(s.AsSpan()));
                }
            }
        }
        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
