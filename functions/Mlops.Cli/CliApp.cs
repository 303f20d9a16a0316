using System.CommandLine;
using Mlops.Cli.Commands;
using Mlops.Data.Tabular;
using Mlops.ML;

namespace Mlops.Cli;

/// <summary>Builds the root command and runs it; expected failures become one-line messages on stderr with a non-zero
/// exit code.</summary>
public static class CliApp
{
    /// <summary>Exit code for bad input (unreadable data, bad options, bad model file).</summary>
    public const int InputError = 2;

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("mlops — train, evaluate and run tabular models");
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(RegistryCommands.Create());
        root.Subcommands.Add(MonitorCommand.Create());
        root.Subcommands.Add(RunsCommand.Create());
        root.Subcommands.Add(BatchCommand.Create());
        return root;
    }

    /// <summary>Runs the CLI in-process; <paramref name="output"/> and <paramref name="error"/> default to the console
    /// (tests pass writers).</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var config = new InvocationConfiguration { Output = output ?? Console.Out, Error = error ?? Console.Error };
        return BuildRoot().Parse(args).Invoke(config);
    }

    /// <summary>Runs a command body, mapping the library's exception types to a clean message and exit code (no stack
    /// trace).</summary>
    internal static int Guard(ParseResult parse, Func<TextWriter, TextWriter, int> body)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        try
        {
            return body(output, error);
        }
        catch (Exception ex)
            when (ex
                    is CsvFormatException
                        or MlException
                        or ArgumentException
                        or IOException
                        or UnauthorizedAccessException
            )
        {
            error.WriteLine($"error: {ex.Message}");
            return InputError;
        }
    }

    /// <summary>True when interactive progress can be drawn (a real console on stdout, output not captured).</summary>
    internal static bool CanShowProgress(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && !Console.IsErrorRedirected;
}
