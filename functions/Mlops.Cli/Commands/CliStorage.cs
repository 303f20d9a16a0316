using Mlops.Core.Storage;
using Mlops.Storage.Azure;
using Spectre.Console;

namespace Mlops.Cli.Commands;

/// <summary>What the commands that read the storage account share: the connection and table output.</summary>
internal static class CliStorage
{
    public const string ConnectionHelp =
        "Storage connection string (default: $AzureWebJobsStorage or $AzureWebJobsStorage__accountName/__*ServiceUri, else UseDevelopmentStorage=true).";

    /// <summary>--connection wins; otherwise the environment as the Functions host reads it (connection string or
    /// identity).</summary>
    public static StorageServices Connect(string? connection) =>
        (
            connection is null
                ? AzureStorageAccount.FromEnvironment()
                : AzureStorageAccount.FromConnectionString(connection, "--connection")
        ).Services;

    /// <summary>
    /// A console over the invocation's writer (the terminal normally, a buffer in tests). Wide tables are not wrapped
    /// at the default 80 characters, and carry no escape codes, when the output is a file or a pipe.
    /// </summary>
    public static IAnsiConsole Console(TextWriter writer)
    {
        bool terminal = CliApp.CanShowProgress(writer);
        var console = AnsiConsole.Create(
            new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(writer),
                // Files and pipes get plain text: no escape codes around bold or coloured cells.
                Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            }
        );
        if (!terminal)
            console.Profile.Width = 200;
        return console;
    }
}
