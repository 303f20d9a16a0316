using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Mlops.Durable.Tests;

/// <summary>Routes engine warnings and errors to the xUnit test output.</summary>
internal sealed class XunitLoggerProvider(ITestOutputHelper output, LogLevel min = LogLevel.Warning) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName, min);
    public void Dispose() { }

    private sealed class Logger(ITestOutputHelper output, string category, LogLevel min) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= min;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel < min) return;
            try { output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}"); }
            catch (InvalidOperationException) { /* test already finished */ }
        }
    }
}
