using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Mlops.Cli;

/// <summary>One line of progress: how far of how much, and how many data rows that stands for (for rows/s).</summary>
internal interface IProgressLine
{
    void Report(double value, double? max = null, string? description = null, double? rows = null);
}

/// <summary>
/// Progress for long commands: a live bar with rows/s and ETA when stdout is a terminal; plain lines on stderr (at most
/// one a second) when output is redirected, so logs show how far a job got without control characters in the data;
/// nothing under <c>--quiet</c>/<c>--json</c> or when the CLI runs in process with its own writers (tests).
/// The benchmarks (<c>bench/Mlops.Bench</c>) use it too, through <see cref="ForStderr"/>.
/// </summary>
internal static class CliProgress
{
    /// <summary><see cref="ErrorBar"/>: the bar drawn on stderr, for programs whose stdout carries results.</summary>
    public enum Mode
    {
        None,
        Bar,
        ErrorBar,
        Lines,
    }

    private const string RowsKey = "rows";

    public static Mode For(TextWriter stdout, bool quiet) =>
        quiet ? Mode.None
        : CliApp.CanShowProgress(stdout) ? Mode.Bar
        : ReferenceEquals(stdout, Console.Out) ? Mode.Lines
        : Mode.None;

    /// <summary>
    /// For programs that print results to stdout as they go (the benchmarks): a bar on stderr only when stdout is
    /// redirected, because result lines written under a live bar on the same terminal would tear it; otherwise plain
    /// lines on stderr.
    /// </summary>
    public static Mode ForStderr(bool quiet) =>
        quiet ? Mode.None
        : Console.IsOutputRedirected && !Console.IsErrorRedirected ? Mode.ErrorBar
        : Mode.Lines;

    /// <summary>Runs <paramref name="body"/>, which adds progress lines through the factory it is given (description,
    /// maximum).</summary>
    public static T Run<T>(Mode mode, Func<Func<string, double, IProgressLine>, T> body)
    {
        switch (mode)
        {
            case Mode.Bar or Mode.ErrorBar:
                T result = default!;
                var console =
                    mode == Mode.Bar
                        ? AnsiConsole.Console
                        : AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                console
                    .Progress()
                    .AutoClear(true)
                    .Columns(
                        new SpinnerColumn(),
                        new TaskDescriptionColumn(),
                        new ProgressBarColumn(),
                        new PercentageColumn(),
                        new RowsPerSecondColumn(),
                        new RemainingTimeColumn()
                    )
                    .Start(ctx =>
                        result = body(
                            (description, max) =>
                                new BarLine(ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(1, max)))
                        )
                    );
                return result;
            case Mode.Lines:
                return body(
                    (description, max) => new PlainLine(Console.Error, description, max, TimeSpan.FromSeconds(1))
                );
            default:
                return body((_, _) => NoLine.Instance);
        }
    }

    /// <summary>"1.2M rows/s", "850k rows/s", "12 rows/s".</summary>
    public static string Rate(double rowsPerSecond) =>
        rowsPerSecond switch
        {
            >= 1e6 => (rowsPerSecond / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + "M rows/s",
            >= 1e4 => (rowsPerSecond / 1e3).ToString("0", CultureInfo.InvariantCulture) + "k rows/s",
            _ => rowsPerSecond.ToString("0", CultureInfo.InvariantCulture) + " rows/s",
        };

    private sealed class BarLine(ProgressTask task) : IProgressLine
    {
        public void Report(double value, double? max, string? description, double? rows)
        {
            if (max is { } m)
                task.MaxValue = Math.Max(1, m);
            if (description is not null)
                task.Description = Markup.Escape(description);
            if (rows is { } r)
                task.State.Update<double>(RowsKey, _ => r);
            task.Value = value;
        }
    }

    /// <summary>Data rows per second since the task started (the task's own units may be bytes or rounds).</summary>
    private sealed class RowsPerSecondColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            double rows = task.State.Get<double>(RowsKey);
            double seconds = task.ElapsedTime?.TotalSeconds ?? 0;
            return new Text(rows > 0 && seconds > 0 ? Rate(rows / seconds) : "", new Style(Color.Grey));
        }
    }

    private sealed class NoLine : IProgressLine
    {
        public static readonly NoLine Instance = new();

        public void Report(double value, double? max, string? description, double? rows) { }
    }

    /// <summary>A line per interval (and one at the end): description, value/max, percentage, rows/s, ETA.</summary>
    internal sealed class PlainLine(TextWriter writer, string description, double max, TimeSpan interval)
        : IProgressLine
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan? _lastWrite;
        private bool _finished;
        private double _lastValue;

        public void Report(double value, double? newMax, string? newDescription, double? rows)
        {
            // A new phase (another stage's rounds, a larger total) starts over: its end gets a line of its own.
            if ((newMax is { } m && m != max) || value < _lastValue)
                _finished = false;
            if (newMax is { } m2)
                max = m2;
            if (newDescription is not null)
                description = newDescription;
            _lastValue = value;
            var elapsed = _clock.Elapsed;
            bool done = value >= max;
            if (_finished || (!done && _lastWrite is { } last && elapsed - last < interval))
                return;
            _finished = done;
            _lastWrite = elapsed;
            writer.WriteLine(Format(description, value, max, rows, elapsed));
        }

        internal static string Format(string description, double value, double max, double? rows, TimeSpan elapsed)
        {
            double fraction = max > 0 ? Math.Clamp(value / max, 0, 1) : 0;
            string line =
                $"{description}: {value.ToString("N0", CultureInfo.InvariantCulture)}/{max.ToString("N0", CultureInfo.InvariantCulture)} ({(fraction * 100).ToString("0", CultureInfo.InvariantCulture)}%)";
            if (rows is > 0 && elapsed.TotalSeconds > 0)
                line += $", {Rate(rows.Value / elapsed.TotalSeconds)}";
            if (fraction is > 0 and < 1)
                line += $", ETA {TimeSpan.FromSeconds(elapsed.TotalSeconds * (1 - fraction) / fraction):hh\\:mm\\:ss}";
            return line;
        }
    }
}
