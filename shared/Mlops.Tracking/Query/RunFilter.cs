using System.Globalization;
using System.Text;

namespace Mlops.Tracking.Query;

/// <summary>
/// A search expression over runs, e.g. <c>metrics.auc &gt; 0.9 and params.num_leaves &lt; 64</c>:
/// comparisons <c>&gt; &gt;= &lt; &lt;= = == != </c> between a field (<see cref="RunField"/>) and a literal (number,
/// 'text' or "text", true, false), combined with <c>and</c>, <c>or</c>, <c>not</c> and parentheses (and binds tighter
/// than or). A run lacking the field fails the comparison, whichever the operator (as in SQL). Field names that are
/// not plain words go in backticks: <c>params.`min-child`</c>.
/// </summary>
public sealed class RunFilter
{
    private readonly Func<RunRecord, bool> _predicate;

    private RunFilter(string text, Func<RunRecord, bool> predicate)
    {
        Text = text;
        _predicate = predicate;
    }

    /// <summary>The expression as given.</summary>
    public string Text { get; }

    /// <summary>Matches every run.</summary>
    public static RunFilter All { get; } = new("", _ => true);

    public bool Matches(RunRecord run) => _predicate(run);

    /// <summary>Parses an expression (null or blank matches every run); throws <see cref="FilterSyntaxException"/> with
    /// the position.</summary>
    public static RunFilter Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return All;
        var parser = new Parser(Tokenize(text));
        var predicate = parser.ParseOr();
        if (parser.Current.Kind != TokenKind.End)
            throw new FilterSyntaxException(
                parser.Current.Position,
                $"unexpected '{parser.Current.Text}' (expected 'and', 'or' or the end)."
            );
        return new RunFilter(text, predicate);
    }

    internal enum TokenKind
    {
        Identifier,
        Number,
        String,
        Operator,
        Open,
        Close,
        End,
    }

    internal readonly record struct Token(TokenKind Kind, string Text, int Position);

    internal static List<Token> Tokenize(string s)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            int start = i;
            if (c == '(')
            {
                tokens.Add(new(TokenKind.Open, "(", i++));
                continue;
            }
            if (c == ')')
            {
                tokens.Add(new(TokenKind.Close, ")", i++));
                continue;
            }
            if (c is '<' or '>' or '=' or '!')
            {
                string two = i + 1 < s.Length ? s.Substring(i, 2) : "";
                string op = two is "<=" or ">=" or "==" or "!=" or "<>" ? two : c.ToString();
                if (op == "!")
                    throw new FilterSyntaxException(i, "'!' must be followed by '=' (use 'not' to negate).");
                tokens.Add(
                    new(
                        TokenKind.Operator,
                        op == "<>" ? "!="
                            : op == "==" ? "="
                            : op,
                        i
                    )
                );
                i += op.Length;
                continue;
            }
            if (c is '\'' or '"')
            {
                var text = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= s.Length)
                        throw new FilterSyntaxException(start, "unterminated string.");
                    if (s[i] == c)
                    {
                        if (i + 1 < s.Length && s[i + 1] == c)
                        {
                            text.Append(c);
                            i += 2;
                            continue;
                        } // a doubled quote is a quote
                        i++;
                        break;
                    }
                    text.Append(s[i++]);
                }
                tokens.Add(new(TokenKind.String, text.ToString(), start));
                continue;
            }
            if (
                char.IsDigit(c)
                || ((c is '-' or '+' or '.') && i + 1 < s.Length && (char.IsDigit(s[i + 1]) || s[i + 1] == '.'))
            )
            {
                i++;
                while (
                    i < s.Length
                    && (char.IsLetterOrDigit(s[i]) || s[i] == '.' || ((s[i] is '-' or '+') && s[i - 1] is 'e' or 'E'))
                )
                    i++;
                string number = s[start..i];
                if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    throw new FilterSyntaxException(start, $"'{number}' is not a number.");
                tokens.Add(new(TokenKind.Number, number, start));
                continue;
            }
            if (char.IsLetter(c) || c is '_' or '`')
            {
                var name = new StringBuilder();
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '.' or '`'))
                {
                    if (s[i] == '`')
                    {
                        int close = s.IndexOf('`', i + 1);
                        if (close < 0)
                            throw new FilterSyntaxException(i, "unterminated `quoted name`.");
                        name.Append(s, i + 1, close - i - 1);
                        i = close + 1;
                        continue;
                    }
                    name.Append(s[i++]);
                }
                tokens.Add(new(TokenKind.Identifier, name.ToString(), start));
                continue;
            }
            throw new FilterSyntaxException(i, $"unexpected character '{c}'.");
        }
        tokens.Add(new(TokenKind.End, "end of expression", s.Length));
        return tokens;
    }

    /// <summary>Recursive descent: or → and ('or' and)*; and → unary ('and' unary)*; unary → 'not' unary | '(' or ')' |
    /// comparison.</summary>
    private sealed class Parser(List<Token> tokens)
    {
        private int _next;

        public Token Current => tokens[_next];

        private bool IsKeyword(string word) =>
            Current.Kind == TokenKind.Identifier
            && string.Equals(Current.Text, word, StringComparison.OrdinalIgnoreCase);

        public Func<RunRecord, bool> ParseOr()
        {
            var left = ParseAnd();
            while (IsKeyword("or"))
            {
                _next++;
                var (l, r) = (left, ParseAnd());
                left = run => l(run) || r(run);
            }
            return left;
        }

        private Func<RunRecord, bool> ParseAnd()
        {
            var left = ParseUnary();
            while (IsKeyword("and"))
            {
                _next++;
                var (l, r) = (left, ParseUnary());
                left = run => l(run) && r(run);
            }
            return left;
        }

        private Func<RunRecord, bool> ParseUnary()
        {
            if (IsKeyword("not"))
            {
                _next++;
                var inner = ParseUnary();
                return run => !inner(run);
            }
            if (Current.Kind == TokenKind.Open)
            {
                _next++;
                var inner = ParseOr();
                if (Current.Kind != TokenKind.Close)
                    throw new FilterSyntaxException(Current.Position, $"expected ')' but found '{Current.Text}'.");
                _next++;
                return inner;
            }
            return ParseComparison();
        }

        private Func<RunRecord, bool> ParseComparison()
        {
            var fieldToken = Current;
            if (fieldToken.Kind != TokenKind.Identifier || IsKeyword("and") || IsKeyword("or"))
                throw new FilterSyntaxException(
                    fieldToken.Position,
                    $"expected a field such as metrics.auc but found '{fieldToken.Text}'."
                );
            var field = RunField.Parse(fieldToken.Text, fieldToken.Position);
            _next++;
            var op = Current;
            if (op.Kind != TokenKind.Operator)
                throw new FilterSyntaxException(
                    op.Position,
                    $"expected a comparison (> >= < <= = !=) after '{fieldToken.Text}' but found '{op.Text}'."
                );
            _next++;
            var literal = Current;
            object value = literal.Kind switch
            {
                TokenKind.Number => double.Parse(literal.Text, NumberStyles.Float, CultureInfo.InvariantCulture),
                TokenKind.String => literal.Text,
                TokenKind.Identifier when literal.Text.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
                TokenKind.Identifier when literal.Text.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
                _ => throw new FilterSyntaxException(
                    literal.Position,
                    $"expected a number or a quoted string after '{op.Text}' but found '{literal.Text}'."
                ),
            };
            _next++;
            return op.Text switch
            {
                "=" => run => field.ValueOf(run) is { } v && Equal(v, value),
                "!=" => run => field.ValueOf(run) is { } v && !Equal(v, value),
                "<" => run => field.ValueOf(run) is { } v && RunField.Compare(v, value) < 0,
                "<=" => run => field.ValueOf(run) is { } v && RunField.Compare(v, value) <= 0,
                ">" => run => field.ValueOf(run) is { } v && RunField.Compare(v, value) > 0,
                _ => run => field.ValueOf(run) is { } v && RunField.Compare(v, value) >= 0,
            };
        }

        /// <summary>Text equality ignores case (<c>status = 'Pruned'</c>); numbers compare as numbers.</summary>
        private static bool Equal(object a, object b) =>
            RunField.AsNumber(a) is { } x && RunField.AsNumber(b) is { } y
                ? x == y
                : string.Equals(RunField.AsText(a), RunField.AsText(b), StringComparison.OrdinalIgnoreCase);
    }
}
