using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mlops.Core.Errors;
using Mlops.Tracking;
using Mlops.Tracking.Analysis;
using Mlops.Tracking.Query;
using Spectre.Console;

namespace Mlops.Cli.Commands;

/// <summary>
/// <c>mlops runs list|show|compare|groups</c>: the tracked runs as the dashboard shows them, read from the run index
/// in the storage account (<c>AzureWebJobsStorage</c> or <c>--connection</c>). <c>--json</c> prints what the runs API
/// answers.
/// </summary>
public static class RunsCommand
{
    private static readonly Option<string?> Connection = new("--connection")
    {
        Description = CliStorage.ConnectionHelp,
        Recursive = true,
    };
    private static readonly Option<bool> JsonOutput = new("--json")
    {
        Description = "Print JSON (the runs API's shape) instead of tables.",
        Recursive = true,
    };

    /// <summary>Metrics shown as table columns when a run has many (the JSON has all).</summary>
    private const int MetricColumns = 6;

    public static Command Create()
    {
        var root = new Command(
            "runs",
            "Tracked runs (every trial of every pipeline): list with a filter, show one, compare, group."
        );
        root.Options.Add(Connection);
        root.Options.Add(JsonOutput);

        var filter = new Option<string?>("--filter")
        {
            Description = "Search expression, e.g. \"metrics.auc > 0.9 and params.num_leaves < 64\".",
        };
        var dataset = new Option<string?>("--dataset") { Description = "Only runs of this dataset." };
        var pipeline = new Option<string?>("--pipeline") { Description = "Only runs of this pipeline (a sweep)." };
        var status = new Option<string?>("--status") { Description = "completed, pruned or failed." };
        var orderBy = new Option<string?>("--order-by")
        {
            Description = "Field and direction, e.g. \"metrics.auc desc\" (default: newest first).",
        };
        var limit = new Option<int>("--limit")
        {
            Description = "Rows to show (default 50).",
            DefaultValueFactory = _ => 50,
        };
        var list = new Command(
            "list",
            "Runs matching a filter, with the params that differ among them and their metrics."
        )
        {
            filter,
            dataset,
            pipeline,
            status,
            orderBy,
            limit,
        };
        list.SetAction((pr, ct) => Run(pr, async q =>
                {
                    var page = await q.ListAsync(
                        new RunQuery(
                            pr.GetValue(filter),
                            pr.GetValue(dataset),
                            pr.GetValue(pipeline),
                            pr.GetValue(status),
                            pr.GetValue(orderBy),
                            pr.GetValue(limit)
                        ),
                        ct
                    );
                    if (Json(pr, page))
                        return;
                    var varying = RunAnalysis.ParamDiff(page.Runs).Select(d => d.Param).ToList();
                    var metrics = MetricNames(page.Runs).Take(MetricColumns).ToList();
                    var table = new Table().AddColumns([
                        "run",
                        "status",
                        "trainer",
                        .. varying,
                        .. metrics,
                        "train s",
                        "created (UTC)",
                    ]);
                    foreach (var r in page.Runs)
                        table.AddRow([
                            Esc(r.RunId),
                            StatusText(r),
                            Esc(r.Trainer ?? "-"),
                            .. varying.Select(p => Esc(Param(r, p))),
                            .. metrics.Select(m => Num(r.Metrics.GetValueOrDefault(m, double.NaN))),
                            Num(r.TrainSeconds ?? double.NaN, "0.0"),
                            r.CreatedAt?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "-",
                        ]);
                    var console = Out(pr);
                    console.Write(table);
                    console.MarkupLine(
                        $"{page.Runs.Count} of {page.Total} run(s){(varying.Count == 0 ? "" : "; params shown: those that differ")}"
                    );
                }));

        var runId = new Argument<string>("run") { Description = "Run id ({pipeline}-t{n})." };
        var show = new Command(
            "show",
            "One run: params, metrics and curve summary, lineage, evaluation, feature importance."
        )
        {
            runId,
        };
        show.SetAction((pr, ct) => Run(pr, async q =>
                {
                    var run = await q.GetAsync(pr.GetValue(runId)!, ct);
                    if (Json(pr, run))
                        return;
                    Show(Out(pr), run);
                }));

        var ids = new Argument<string[]>("runs") { Description = "2 to 10 run ids.", Arity = new ArgumentArity(2, 10) };
        var step = new Option<int?>("--step")
        {
            Description = "Compare curve values (validation, else training) at this round (default: the last).",
        };
        var all = new Option<bool>("--all") { Description = "Show every parameter, not only those that differ." };
        var compare = new Command(
            "compare",
            "Runs side by side: the params that differ, metrics, and curve values at a step."
        )
        {
            ids,
            step,
            all,
        };
        compare.SetAction((pr, ct) => Run(pr, async q =>
                {
                    var c = await q.CompareAsync(pr.GetValue(ids)!, pr.GetValue(step), ct);
                    if (Json(pr, c))
                        return;
                    var table = new Table().AddColumns(["", .. c.Runs.Select(r => Esc(r.RunId))]);
                    var paramNames = pr.GetValue(all)
                        ? c.Runs.SelectMany(r => r.Params.Keys).Distinct().Order(StringComparer.Ordinal).ToList()
                        : c.ParamDiff.Select(d => d.Param).ToList();
                    foreach (var p in paramNames)
                        table.AddRow([Esc("params." + p), .. c.Runs.Select(r => Esc(Param(r, p)))]);
                    foreach (var m in MetricNames(c.Runs))
                        table.AddRow([
                            Esc("metrics." + m),
                            .. c.Runs.Select(r => Num(r.Metrics.GetValueOrDefault(m, double.NaN))),
                        ]);
                    table.AddRow(["status", .. c.Runs.Select(StatusText)]);
                    if (c.Step is { } s)
                        table.AddRow([
                            $"curve at round {s}",
                            .. c.MetricsAtStep.Select(m =>
                                m.Round is null
                                    ? "-"
                                    : $"{Num(m.Validation ?? m.Train ?? double.NaN)}{(m.Round != s ? $" (r{m.Round})" : "")}"
                            ),
                        ]);
                    var console = Out(pr);
                    console.Write(table);
                    if (!pr.GetValue(all))
                        console.MarkupLine(
                            paramNames.Count == 0
                                ? "the runs have the same params"
                                : "params: only those that differ (--all for every one)"
                        );
                }));

        var by = new Option<string>("--by")
        {
            Description = "sweep, pipeline, or fields such as params.num_leaves (comma-separated).",
            Required = true,
        };
        var groups = new Command("groups", "Runs grouped by sweep, pipeline or params, with mean ± std per metric.")
        {
            by,
            filter,
            dataset,
        };
        groups.SetAction((pr, ct) => Run(pr, async q =>
                {
                    var g = await q.GroupAsync(pr.GetValue(by)!, pr.GetValue(filter), pr.GetValue(dataset), ct);
                    if (Json(pr, g))
                        return;
                    var metrics = g
                        .Groups.SelectMany(x => x.Metrics.Keys)
                        .Distinct()
                        .Order(StringComparer.Ordinal)
                        .Take(MetricColumns)
                        .ToList();
                    var table = new Table().AddColumns(["group", "runs", .. metrics]);
                    foreach (var x in g.Groups)
                        table.AddRow([
                            Esc(x.Label),
                            x.Count.ToString(CultureInfo.InvariantCulture),
                            .. metrics.Select(m =>
                                x.Metrics.TryGetValue(m, out var st) ? $"{Num(st.Mean)} ± {Num(st.Std)}" : "-"
                            ),
                        ]);
                    Out(pr).Write(table);
                }));

        foreach (var c in new[] { list, show, compare, groups })
            root.Subcommands.Add(c);
        return root;
    }

    private static void Show(IAnsiConsole console, RunDetail run)
    {
        console.MarkupLine(
            $"[bold]{Esc(run.RunId)}[/]  {StatusText(run)}  dataset {Esc(run.Dataset ?? "-")}  trainer {Esc(run.Trainer ?? "-")}  pipeline {Esc(run.Pipeline)}"
                + $"{(run.SweepMethod is null ? "" : $"  sweep {Esc(run.SweepMethod)}")}{(run.Stage is null ? "" : $"  {Esc(run.Stage)}")}"
        );
        console.MarkupLine(
            $"created {run.CreatedAt:u}  trained in {Num(run.TrainSeconds ?? double.NaN, "0.00")} s{(run.PruneReason is null ? "" : $"  pruned at round {run.PrunedAtRound}: {Esc(run.PruneReason)}")}"
        );
        var values = new Table().AddColumns("", "value");
        foreach (var (k, v) in run.Params.OrderBy(p => p.Key, StringComparer.Ordinal))
            values.AddRow(Esc("params." + k), Esc(Text(v)));
        foreach (var (k, v) in run.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal))
            values.AddRow(Esc("metrics." + k) + (k == run.PrimaryMetric ? " (primary)" : ""), Num(v));
        console.Write(values);
        if (run.Curves.Count > 0)
        {
            var curves = new Table().AddColumns("curve", "best", "best round", "last", "min", "max", "rounds");
            foreach (var (k, c) in run.Curves)
                curves.AddRow(
                    Esc(k),
                    Num(c.Best),
                    c.BestRound.ToString(CultureInfo.InvariantCulture),
                    Num(c.Last),
                    Num(c.Min),
                    Num(c.Max),
                    run.Curve.Count(p => (p.Metric ?? "loss") == k).ToString(CultureInfo.InvariantCulture)
                );
            console.Write(curves);
        }
        if (run.Lineage is { } l)
            console.MarkupLine(
                $"data {Esc(string.Join(", ", l.DataVersions.Select(v => v.Length > 12 ? v[..12] : v)))}  code {Esc(l.CodeVersion ?? "-")}  target {Esc(l.Target ?? "-")}"
            );
        if (run.Evaluation is { } e)
            console.MarkupLine(Esc(EvaluationText(e)));
        if (run.Importance is { } i && i.TryGetProperty("features", out var features))
            console.MarkupLine(
                "importance: "
                    + Esc(
                        string.Join(
                            ", ",
                            features
                                .EnumerateArray()
                                .Take(10)
                                .Select(f =>
                                    $"{f.GetProperty("column").GetString()} {f.GetProperty("importance").GetDouble().ToString("0.000", CultureInfo.InvariantCulture)}"
                                )
                        )
                    )
            );
    }

    /// <summary>One line summarizing evaluation.json: AUCs and the confusion at the threshold, or the
    /// residuals.</summary>
    private static string EvaluationText(JsonElement e)
    {
        string task = e.TryGetProperty("task", out var t) ? t.GetString() ?? "" : "";
        double Get(JsonElement o, string name) =>
            o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
        if (task == "regression" && e.TryGetProperty("residuals", out var r))
            return $"residuals: mean {Num(Get(r, "mean"))}, std {Num(Get(r, "std"))}, p5..p95 {Num(Get(r, "p5"))}..{Num(Get(r, "p95"))}";
        string line = $"evaluation ({task}, {Get(e, "rows")} validation rows)";
        if (task == "binary")
            line += $": auc {Num(Get(e, "auc"))}, pr auc {Num(Get(e, "prAuc"))}, threshold {Num(Get(e, "threshold"))}";
        if (e.TryGetProperty("confusion", out var c))
            line +=
                "; confusion (actual → predicted) "
                + string.Join(
                    " | ",
                    c.GetProperty("labels")
                        .EnumerateArray()
                        .Zip(c.GetProperty("counts").EnumerateArray(), (label, row) =>
                            $"{label.GetString()}: {string.Join(" ", row.EnumerateArray().Select(x => x.GetInt32()))}"
                        )
                );
        return line;
    }

    private static async Task<int> Run(ParseResult pr, Func<RunQueries, Task> action)
    {
        try
        {
            await action(new RunQueries(CliStorage.Connect(pr.GetValue(Connection))));
            return 0;
        }
        catch (MlopsException e)
        {
            Err(pr).MarkupLine($"[red]error[/] {Esc(e.Code)}: {Esc(e.Message)}");
            return 1;
        }
        catch (Core.Storage.StorageUnavailableException e)
        {
            Err(pr).MarkupLine($"[red]error[/] storage unavailable: {Esc(e.Message)}");
            return 3;
        }
    }

    /// <summary>Metric names across runs, the primary metric first.</summary>
    private static IEnumerable<string> MetricNames(IEnumerable<RunRecord> runs)
    {
        var list = runs.ToList();
        string? primary = list.Select(r => r.PrimaryMetric).FirstOrDefault(p => p is not null);
        return list.SelectMany(r => r.Metrics.Keys)
            .Distinct()
            .OrderBy(m => m == primary ? 0 : 1)
            .ThenBy(m => m, StringComparer.Ordinal);
    }

    private static bool Json<T>(ParseResult pr, T value)
    {
        if (!pr.GetValue(JsonOutput))
            return false;
        pr.InvocationConfiguration.Output.WriteLine(Mlops.Core.Json.Serialize(value, indented: true));
        return true;
    }

    private static IAnsiConsole Out(ParseResult pr) => CliStorage.Console(pr.InvocationConfiguration.Output);

    private static IAnsiConsole Err(ParseResult pr) => CliStorage.Console(pr.InvocationConfiguration.Error);

    private static string StatusText(RunRecord r) =>
        r.Status switch
        {
            RunStatus.Pruned => "[yellow]pruned[/]",
            RunStatus.Failed => "[red]failed[/]",
            _ => Esc(r.Status),
        };

    private static string Param(RunRecord r, string name) => r.Params.TryGetValue(name, out var v) ? Text(v) : "-";

    private static string Text(JsonElement v) =>
        RunField.FromJson(v) is double d ? Num(d) : RunField.AsText(RunField.FromJson(v));

    private static string Num(double v, string format = "0.#####") =>
        double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Esc(string s) => Markup.Escape(s);
}
