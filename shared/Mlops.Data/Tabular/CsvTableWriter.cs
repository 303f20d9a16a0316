using System.Globalization;
using System.Text;

namespace Mlops.Data.Tabular;

/// <summary>Writes a <see cref="DataTable"/> as RFC 4180 CSV that <see cref="CsvTableReader"/> reads back to the same
/// values (numbers in shortest round-trip form; missing = empty).</summary>
public static class CsvTableWriter
{
    public static void Write(DataTable table, TextWriter writer)
    {
        writer.Write(string.Join(",", table.Columns.Select(c => Quote(c.Name))));
        writer.Write('\n');
        var sb = new StringBuilder();
        for (int r = 0; r < table.RowCount; r++)
        {
            sb.Clear();
            for (int c = 0; c < table.Columns.Count; c++)
            {
                if (c > 0)
                    sb.Append(',');
                var col = table.Columns[c];
                if (col.Kind == ColumnKind.DateTime && col.Strings is not null)
                {
                    if (col.Strings[r] is { } s)
                        sb.Append(Quote(s));
                }
                else if (col.Kind == ColumnKind.Boolean)
                {
                    var v = col.Numbers![r];
                    if (!double.IsNaN(v))
                        sb.Append(v != 0 ? "true" : "false");
                }
                else if (col.Numbers is not null && col.IsNumericLike)
                {
                    var v = col.Numbers[r];
                    if (!double.IsNaN(v))
                        sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
                }
                else if (col.Strings![r] is { } s)
                    sb.Append(Quote(s));
            }
            sb.Append('\n');
            writer.Write(sb);
        }
    }

    public static void WriteFile(DataTable table, string path)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
        Write(table, w);
    }

    private static string Quote(string s) =>
        s.Length == 0 || s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
