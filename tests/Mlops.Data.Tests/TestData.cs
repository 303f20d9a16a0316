using System.Globalization;
using System.Text;
using Mlops.Data.Tabular;

namespace Mlops.Data.Tests;

/// <summary>Seeded synthetic tables and CSV files for data tests.</summary>
internal static class TestData
{
    /// <summary>
    /// A table with numeric <c>age</c> (normal 40±10, shifted by <paramref name="ageShift"/>), numeric <c>income</c>,
    /// categorical <c>color</c> (red/green/blue) and label <c>target</c> ("0"/"1" with share <paramref
    /// name="positiveShare"/> of "1").
    /// </summary>
    public static DataTable Table(
        int rows,
        int seed = 1,
        double positiveShare = 0.5,
        double ageShift = 0,
        bool withColor = true
    )
    {
        var rng = new Random(seed);
        var age = new double[rows];
        var income = new double[rows];
        var color = new string?[rows];
        var target = new double[rows];
        string[] colors = ["red", "green", "blue"];
        for (int i = 0; i < rows; i++)
        {
            age[i] = Math.Round(40 + ageShift + 10 * Gauss(rng), 2);
            income[i] = Math.Round(50_000 + 15_000 * Gauss(rng), 0);
            color[i] = colors[rng.Next(3)];
            // Exact class shares (not sampled) so balance tests are deterministic.
            target[i] = i < Math.Round(rows * positiveShare) ? 1 : 0;
        }
        var cols = new List<Column> { Column.Numeric("age", age), Column.Numeric("income", income) };
        if (withColor)
            cols.Add(Column.Categorical("color", color));
        cols.Add(Column.Numeric("target", target));
        return new DataTable(cols);
    }

    /// <summary>Same as <see cref="Table"/> but written as CSV bytes (rows shuffled deterministically by the
    /// seed).</summary>
    public static byte[] Csv(
        int rows,
        int seed = 1,
        double positiveShare = 0.5,
        double ageShift = 0,
        bool withColor = true
    )
    {
        var t = Table(rows, seed, positiveShare, ageShift, withColor);
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", t.ColumnNames));
        for (int r = 0; r < t.RowCount; r++)
        {
            sb.AppendJoin(
                ',',
                t.Columns.Select(c =>
                    c.Numbers is not null
                        ? c.Numbers[r].ToString("R", CultureInfo.InvariantCulture)
                        : c.Strings![r] ?? ""
                )
            );
            sb.Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static double Gauss(Random rng)
    {
        double u1 = 1 - rng.NextDouble(),
            u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
