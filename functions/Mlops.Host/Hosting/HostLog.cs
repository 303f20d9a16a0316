namespace Mlops.Host.Hosting;

/// <summary>
/// The host's console log: one line per event, prefixed by its source, written through one lock so lines from the
/// worker's stdout, its RpcLogs and the host itself never interleave mid-line.
/// </summary>
public sealed class HostLog(Action<string> write)
{
    private readonly Lock _gate = new();

    /// <summary>Writes one line, prefixed with <paramref name="source"/> in brackets.</summary>
    public void Line(string source, string message)
    {
        string line = $"[{source}] {message}";
        lock (_gate)
            write(line);
    }

    /// <summary>Writes a host line.</summary>
    public void Host(string message) => Line("host", message);
}

/// <summary>Routes ASP.NET Core and library logs (warnings and above) into the <see cref="HostLog"/>.</summary>
internal sealed class HostLogLoggerProvider(HostLog log) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new LineLogger(log, categoryName);

    public void Dispose() { }

    private sealed class LineLogger(HostLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(
            LogLevel logLevel,
            EventId eventId,
            TState state,
            Exception? exception,
            Func<TState, Exception?, string> formatter
        )
        {
            if (!IsEnabled(logLevel))
                return;
            string text = formatter(state, exception);
            if (exception is not null)
                text += " " + exception.GetType().Name + ": " + exception.Message;
            log.Line("host:" + logLevel, category + ": " + text);
        }
    }
}
