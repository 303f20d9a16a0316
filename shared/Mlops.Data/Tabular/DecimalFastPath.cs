namespace Mlops.Data.Tabular;

/// <summary>
/// Exact parsing of the plain decimals most CSV files hold (<c>-12.345</c>, <c>6e-3</c>) straight from UTF-8 bytes.
/// When the digits form an integer of at most 2^53 and the power of ten is at most 22 in size, both are exact doubles
/// and one IEEE multiplication or division rounds correctly, so the result is bit for bit what
/// <see cref="double.Parse(string)"/> returns (Clinger's fast path). Anything else — more digits, larger exponents,
/// signs other than a leading minus, spaces, NaN/Infinity — returns false and is parsed by <see
/// cref="double.TryParse(ReadOnlySpan{char}, System.Globalization.NumberStyles, IFormatProvider?, out double)"/>.
/// </summary>
internal static class DecimalFastPath
{
    private const ulong MaxExactMantissa = 1UL << 53;

    private static readonly double[] PowersOfTen =
    [
        1e0,
        1e1,
        1e2,
        1e3,
        1e4,
        1e5,
        1e6,
        1e7,
        1e8,
        1e9,
        1e10,
        1e11,
        1e12,
        1e13,
        1e14,
        1e15,
        1e16,
        1e17,
        1e18,
        1e19,
        1e20,
        1e21,
        1e22,
    ];

    /// <summary>Parses <paramref name="text"/> when the fast path is exact; false means "ask
    /// double.TryParse".</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        int i = 0;
        bool negative = false;
        if (text.Length > 0 && text[0] == (byte)'-')
        {
            negative = true;
            i = 1;
        }
        ulong mantissa = 0;
        int digits = 0; // significant digits taken into the mantissa (leading zeros skipped)
        int intDigits = 0; // digits before the point (at least one is required here)
        int scale = 0; // power of ten applied by the digits after the point
        for (; i < text.Length && (uint)(text[i] - '0') <= 9; i++, intDigits++)
        {
            if (mantissa == 0 && text[i] == '0')
                continue;
            if (++digits > 19)
                return false;
            mantissa = mantissa * 10 + (uint)(text[i] - '0');
        }
        if (intDigits == 0)
            return false;
        if (i < text.Length && text[i] == (byte)'.')
        {
            i++;
            int fracStart = i;
            for (; i < text.Length && (uint)(text[i] - '0') <= 9; i++)
            {
                scale--;
                if (mantissa == 0 && text[i] == '0')
                    continue;
                if (++digits > 19)
                    return false;
                mantissa = mantissa * 10 + (uint)(text[i] - '0');
            }
            if (i == fracStart)
                return false;
        }
        if (i < text.Length && (text[i] | 0x20) == (byte)'e')
        {
            i++;
            bool negativeExponent = false;
            if (i < text.Length && (text[i] == (byte)'-' || text[i] == (byte)'+'))
            {
                negativeExponent = text[i] == (byte)'-';
                i++;
            }
            int expStart = i,
                exponent = 0;
            for (; i < text.Length && (uint)(text[i] - '0') <= 9; i++)
            {
                if (exponent > 1000)
                    return false;
                exponent = exponent * 10 + (text[i] - '0');
            }
            if (i == expStart)
                return false;
            scale += negativeExponent ? -exponent : exponent;
        }
        if (i != text.Length || mantissa > MaxExactMantissa)
            return false;
        double m = mantissa;
        if (mantissa == 0)
            value = 0;
        else if (scale >= 0 && scale <= 22)
            value = m * PowersOfTen[scale];
        else if (scale < 0 && scale >= -22)
            value = m / PowersOfTen[-scale];
        else
            return false;
        if (negative)
            value = -value;
        return true;
    }
}
