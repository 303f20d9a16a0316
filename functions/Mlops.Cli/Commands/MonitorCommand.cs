using System.CommandLine;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Monitoring;
using Mlops.Storage.Azure;
using Spectre.Console;

namespace Mlops.Cli.Commands;

/// <summary>
/// <c>mlops monitor MODEL</c>: the latest monitor runs of a model with each signal's verdict and the retraining
/// decision, newest first. Reads the run table directly (<c>AzureWebJobsStorage</c> or <c>--connection</c>).
/// </summary>
public static class MonitorCommand
{
    private static readonly string[] Signals =
    [
        "data_drift",
        "prediction_drift",
        "data_quality",
        "performance",
        "estimated_performance",
    ];

    /// <summary>The <c>monitor</c> command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "Model (dataset) name." };
        var take = new Option<int>("--take")
        {
            Description = "Runs to show (default 10).",
            DefaultValueFactory = _ => 10,
        };
        var connection = new Option<string?>("--connection")
        {
            Description = "Storage connection string (default: $AzureWebJobsStorage, else UseDevelopmentStorage=true).",
        };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command(
            "monitor",
            "Latest monitor runs of a model: drift, quality and performance verdicts against the baseline (monitoring.baseline in mlops.json: serving, a pinned dataset version, or the previous window), and retraining decisions."
        )
        {
            model,
            take,
            connection,
            json,
        };
        command.SetAction(
            async (pr, ct) =>
            {
                var output = pr.InvocationConfiguration.Output;
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
                // Eleven columns: when the output is a file or a pipe, do not wrap them at the default 80 characters.
                if (!CliApp.CanShowProgress(output))
                    console.Profile.Width = 200;
                try
                {
                    string? conn = pr.GetValue(connection);
                    var storage = (
                        conn is null
                            ? AzureStorageAccount.FromEnvironment()
                            : AzureStorageAccount.FromConnectionString(conn, "--connection")
                    ).Services;
                    var runs = await new MonitoringStore(storage.Blobs, storage.Tables).ListRunsAsync(
                        Registry.RegistryNames.CheckModel(pr.GetValue(model)),
                        Math.Clamp(pr.GetValue(take), 1, 100),
                        ct
                    );
                    if (pr.GetValue(json))
                    {
                        output.WriteLine(Json.Serialize(runs, indented: true));
                        return 0;
                    }
                    if (runs.Count == 0)
                    {
                        console.MarkupLine($"no monitor runs for {Markup.Escape(pr.GetValue(model)!)} yet");
                        return 0;
                    }
                    var table = new Table().AddColumns([
                        "run",
                        "window (UTC)",
                        "rows",
                        "baseline",
                        .. Signals,
                        "retrain",
                    ]);
                    foreach (var r in runs)
                        table.AddRow([
                            Markup.Escape(r.RunId),
                            $"{r.WindowFrom:MM-dd HH:mm} – {r.WindowTo:MM-dd HH:mm}",
                            r.Rows.ToString("N0"),
                            Markup.Escape(r.Baseline ?? "serving"),
                            .. Signals.Select(s => Status(r.Verdicts.GetValueOrDefault(s))),
                            r.Retrain is null ? "-"
                            : r.Retrain.Value ? "[yellow]started[/]"
                            : "no",
                        ]);
                    console.Write(table);
                    if (runs[0].Reason is { } reason)
                        console.MarkupLine($"latest decision: {Markup.Escape(reason)}");
                    console.MarkupLine($"report: {Markup.Escape(runs[0].Report)}");
                    return 0;
                }
                catch (MlopsException e)
                {
                    pr.InvocationConfiguration.Error.WriteLine($"error {e.Code}: {e.Message}");
                    return 1;
                }
                catch (Core.Storage.StorageUnavailableException e)
                {
                    pr.InvocationConfiguration.Error.WriteLine($"error storage unavailable: {e.Message}");
                    return 3;
                }
            }
        );
        return command;
    }

    private static string Status(string? s) =>
        s switch
        {
            "breach" => "[red]breach[/]",
            "ok" => "[green]ok[/]",
            null => "-",
            _ => Markup.Escape(s.Replace('_', ' ')),
        };
}
