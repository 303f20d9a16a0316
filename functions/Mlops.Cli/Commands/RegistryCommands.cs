using System.CommandLine;
using System.Globalization;
using Mlops.Core.Errors;
using Mlops.Registry;
using Spectre.Console;

namespace Mlops.Cli.Commands;

/// <summary>
/// <c>mlops models …</c>: the model registry from the command line (list, show, alias, promote, rollback, archive,
/// compare, history, traffic, approve/reject). Connects with <c>AzureWebJobsStorage</c> (default: the local emulator)
/// or <c>--connection</c>; approve/reject go through the app's API instead (<see cref="ApprovalClient"/>).
/// </summary>
public static class RegistryCommands
{
    private static readonly Option<string?> Connection = new("--connection")
    {
        Description = CliStorage.ConnectionHelp,
        Recursive = true,
    };

    private static readonly Option<bool> JsonOutput = new("--json")
    {
        Description = "Print JSON instead of tables.",
        Recursive = true,
    };
    private static readonly Option<string?> Reason = new("--reason") { Description = "Why (recorded in the history)." };
    private static readonly Option<string?> Actor = new("--actor") { Description = "Who (default: $USER)." };

    private static readonly Option<string> Url = new("--url")
    {
        Description = $"The app's base URL (default ${ApprovalClient.UrlVariable}, else {ApprovalClient.DefaultUrl}).",
        DefaultValueFactory = _ =>
            Environment.GetEnvironmentVariable(ApprovalClient.UrlVariable) is { Length: > 0 } url
                ? url
                : ApprovalClient.DefaultUrl,
    };

    private static readonly Option<string?> Key = new("--key")
    {
        Description = $"The app's master key (default ${ApprovalClient.KeyVariable}).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ApprovalClient.KeyVariable),
    };

    /// <summary>The <c>models</c> command with its subcommands.</summary>
    public static Command Create()
    {
        var root = new Command("models", "Model registry: versions, aliases, promotion, rollback, traffic, history.");
        root.Options.Add(Connection);
        root.Options.Add(JsonOutput);

        var model = new Argument<string>("model") { Description = "Model (dataset) name." };
        var version = new Argument<int>("version") { Description = "Version number." };

        var list = new Command("list", "List models with latest version and aliases.");
        list.SetAction((pr, ct) => Run(pr, async r =>
                {
                    var models = await r.ListModelsAsync(ct);
                    if (Json(pr, models))
                        return;
                    var t = new Table().AddColumns("model", "latest", "production", "aliases", "updated");
                    foreach (var m in models)
                        t.AddRow(
                            Esc(m.Model),
                            m.LatestVersion.ToString(),
                            m.Production?.ToString() ?? "-",
                            Esc(string.Join(", ", m.Aliases.Select(a => $"{a.Key}→v{a.Value}"))),
                            m.UpdatedAt?.ToString("u") ?? ""
                        );
                    Out(pr).Write(t);
                }));

        var show = new Command("show", "Versions of a model with metrics and aliases.") { model };
        show.SetAction((pr, ct) => Run(pr, async r =>
                {
                    var d = await r.GetModelAsync(pr.GetValue(model)!, ct);
                    if (Json(pr, d))
                        return;
                    var t = new Table().AddColumns(
                        "version",
                        "status",
                        "aliases",
                        "metrics",
                        "gate",
                        "approval",
                        "data",
                        "code",
                        "created"
                    );
                    foreach (var v in d.Versions)
                        t.AddRow(
                            v.Version.ToString(),
                            v.Status.ToString(),
                            Esc(string.Join(",", v.Aliases)),
                            Esc(Metrics(v.Metrics)),
                            v.Gate is null ? "-"
                                : v.Gate.Passed ? "[green]passed[/]"
                                : "[red]failed[/]",
                            v.Approval.ToString(),
                            Esc(Short(v.DataHash)),
                            Esc(Short(v.CodeVersion)),
                            v.CreatedAt.ToString("u")
                        );
                    Out(pr).Write(t);
                    Out(pr).MarkupLine($"traffic: {Esc(Traffic(d.State))}   revision {d.State.Revision}");
                }));

        var get = new Command("version", "One version in detail (metrics, gate, lineage).") { model, version };
        get.SetAction((pr, ct) => Run(pr, async r =>
                {
                    string m = pr.GetValue(model)!;
                    int n = pr.GetValue(version);
                    var v = await r.GetVersionAsync(m, n, ct);
                    var lineage = await r.ReadLineageAsync(m, n, ct);
                    pr.InvocationConfiguration.Output.WriteLine(
                        Mlops.Core.Json.Serialize(new { version = v, lineage }, indented: true)
                    );
                }));

        var aliasName = new Argument<string>("alias") { Description = "Alias name (production, candidate, …)." };
        var alias = new Command("alias", "Point an alias at a version.") { model, aliasName, version, Reason, Actor };
        alias.SetAction(
            (pr, ct) =>
                Run(pr, async r =>
                    Changed(
                        pr,
                        await r.SetAliasAsync(
                            pr.GetValue(model)!,
                            pr.GetValue(aliasName)!,
                            pr.GetValue(version),
                            Ctx(pr),
                            ct
                        )
                    )
                )
        );

        var force = new Option<bool>("--force")
        {
            Description = "Promote even if the gate failed or approval was rejected.",
        };
        var promote = new Command(
            "promote",
            "Make a version production (previous production becomes the rollback target)."
        )
        {
            model,
            version,
            Reason,
            Actor,
            force,
        };
        promote.SetAction(
            (pr, ct) =>
                Run(pr, async r =>
                    Changed(
                        pr,
                        await r.PromoteAsync(pr.GetValue(model)!, pr.GetValue(version), Ctx(pr), pr.GetValue(force), ct)
                    )
                )
        );

        var rollback = new Command("rollback", "Return production to the previous production version.")
        {
            model,
            Reason,
            Actor,
        };
        rollback.SetAction(
            (pr, ct) => Run(pr, async r => Changed(pr, await r.RollbackAsync(pr.GetValue(model)!, Ctx(pr), ct)))
        );

        var archive = new Command("archive", "Archive a version that no alias or route uses.")
        {
            model,
            version,
            Reason,
            Actor,
        };
        archive.SetAction((pr, ct) => Run(pr, async r =>
                {
                    var v = await r.ArchiveAsync(pr.GetValue(model)!, pr.GetValue(version), Ctx(pr), ct);
                    if (!Json(pr, v))
                        Out(pr).MarkupLine($"archived {Esc(v.Model)} v{v.Version}");
                }));

        var a = new Argument<int>("a") { Description = "First version." };
        var b = new Argument<int>("b") { Description = "Second version." };
        var compare = new Command("compare", "Compare two versions' metrics side by side.") { model, a, b };
        compare.SetAction((pr, ct) => Run(pr, async r =>
                {
                    var c = await r.CompareAsync(pr.GetValue(model)!, pr.GetValue(a), pr.GetValue(b), ct);
                    if (Json(pr, c))
                        return;
                    var t = new Table().AddColumns("metric", $"v{c.A}", $"v{c.B}", "delta", "better");
                    foreach (var d in c.Metrics)
                        t.AddRow(
                            Esc(d.Metric),
                            Num(d.A),
                            Num(d.B),
                            Num(d.Delta),
                            d.Better is null ? ""
                                : d.Better == "equal" ? "="
                                : $"v{(d.Better == "a" ? c.A : c.B)}"
                        );
                    Out(pr).Write(t);
                    Out(pr)
                        .MarkupLine(
                            $"data: {Esc(Short(c.DataHashA))} vs {Esc(Short(c.DataHashB))}; code: {Esc(Short(c.CodeVersionA))} vs {Esc(Short(c.CodeVersionB))}"
                        );
                }));

        var at = new Option<DateTimeOffset?>("--at")
        {
            Description = "Show what was in force at this time (ISO 8601).",
        };
        var history = new Command("history", "Every alias and traffic change (who, when, why).") { model, at };
        history.SetAction((pr, ct) => Run(pr, async r =>
                {
                    string m = pr.GetValue(model)!;
                    if (pr.GetValue(at) is DateTimeOffset when)
                    {
                        var e = await r.GetStateAtAsync(m, when, ct);
                        if (Json(pr, e))
                            return;
                        Out(pr)
                            .MarkupLine(
                                $"at {when:u}: aliases {Esc(string.Join(", ", e.Aliases.Select(x => $"{x.Key}→v{x.Value}")))}; traffic {Esc(TrafficText(e.Traffic, e.Aliases))} (revision {e.Revision})"
                            );
                        return;
                    }
                    var entries = await r.GetHistoryAsync(m, null, ct);
                    if (Json(pr, entries))
                        return;
                    var t = new Table().AddColumns("rev", "at", "change", "from", "to", "actor", "reason");
                    foreach (var e in entries)
                        t.AddRow(
                            e.Revision.ToString(),
                            e.At.ToString("u"),
                            Esc($"{e.Kind}{(e.Alias is null ? "" : " " + e.Alias)}"),
                            e.FromVersion?.ToString() ?? "",
                            e.ToVersion?.ToString() ?? "",
                            Esc(e.Actor ?? ""),
                            Esc(e.Reason ?? "")
                        );
                    Out(pr).Write(t);
                }));

        var route = new Option<string[]>("--route")
        {
            Description = "VERSION=WEIGHT, repeatable; weights sum to 100.",
            AllowMultipleArgumentsPerToken = true,
        };
        var shadow = new Option<int[]>("--shadow")
        {
            Description = "Shadow version(s): mirrored, logged, never returned.",
            AllowMultipleArgumentsPerToken = true,
        };
        var maxErrorRate = new Option<double?>("--max-error-rate")
        {
            Description = "Automatic rollback when a canary's error rate exceeds this (0..1).",
        };
        var maxP99 = new Option<double?>("--max-p99-ms")
        {
            Description = "Automatic rollback when a canary's p99 latency exceeds this many ms.",
        };
        var traffic = new Command(
            "traffic",
            "Set the traffic split (A/B, canary), shadow versions and automatic rollback; no routes = 100% production."
        )
        {
            model,
            route,
            shadow,
            maxErrorRate,
            maxP99,
            Reason,
            Actor,
        };
        traffic.SetAction((pr, ct) => Run(pr, async r =>
                {
                    var routes = new List<TrafficRoute>();
                    foreach (string spec in pr.GetValue(route) ?? [])
                    {
                        var parts = spec.Split('=', 2);
                        if (
                            parts.Length != 2
                            || !int.TryParse(parts[0].TrimStart('v'), out int v)
                            || !int.TryParse(parts[1].TrimEnd('%'), out int w)
                        )
                            throw new MlopsException(
                                "cli.bad_route",
                                $"--route '{spec}' must look like 2=20 (version=weight)."
                            );
                        routes.Add(new TrafficRoute(v, w));
                    }
                    AutoRollbackPolicy? policy =
                        pr.GetValue(maxErrorRate) is null && pr.GetValue(maxP99) is null
                            ? null
                            : new AutoRollbackPolicy
                            {
                                MaxErrorRate = pr.GetValue(maxErrorRate),
                                MaxP99LatencyMs = pr.GetValue(maxP99),
                            };
                    var config = new TrafficConfig
                    {
                        Routes = routes,
                        Shadow = (pr.GetValue(shadow) ?? []).ToList(),
                        AutoRollback = policy,
                    };
                    Changed(pr, await r.SetTrafficAsync(pr.GetValue(model)!, config, Ctx(pr), ct));
                }));

        // Decisions go through the app's API, which hands them to the run waiting for them (see ApprovalClient).
        var approve = new Command("approve", "Approve a version waiting for manual approval (through the app's API).")
        {
            model,
            version,
            Reason,
            Url,
            Key,
        };
        approve.SetAction((pr, ct) => DecideAsync(pr, pr.GetValue(model)!, pr.GetValue(version), approved: true, ct));
        var reject = new Command("reject", "Reject a version waiting for manual approval (through the app's API).")
        {
            model,
            version,
            Reason,
            Url,
            Key,
        };
        reject.SetAction((pr, ct) => DecideAsync(pr, pr.GetValue(model)!, pr.GetValue(version), approved: false, ct));

        foreach (
            var c in new[]
            {
                list,
                show,
                get,
                alias,
                promote,
                rollback,
                archive,
                compare,
                history,
                traffic,
                approve,
                reject,
            }
        )
            root.Subcommands.Add(c);
        return root;
    }

    private static async Task<int> DecideAsync(
        ParseResult pr,
        string model,
        int version,
        bool approved,
        CancellationToken cancellationToken
    )
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var answer = await new ApprovalClient(http).DecideAsync(
                pr.GetValue(Url)!,
                pr.GetValue(Key) ?? "",
                model,
                version,
                approved,
                pr.GetValue(Reason),
                cancellationToken
            );
            if (Json(pr, answer))
                return 0;
            string run =
                answer.ValueKind == System.Text.Json.JsonValueKind.Object
                && answer.TryGetProperty("instanceId", out var id)
                    ? $" to run {id.GetString()}"
                    : "";
            Out(pr)
                .MarkupLine(
                    $"{(approved ? "approval" : "rejection")} of {Esc(model)} v{version} sent{Esc(run)}; the run records it and continues."
                );
            return 0;
        }
        catch (ApprovalException e)
        {
            Err(pr).MarkupLine($"[red]error[/] {Esc(e.Message)}");
            return e.ExitCode;
        }
    }

    private static async Task<int> Run(ParseResult pr, Func<ModelRegistry, Task> action)
    {
        try
        {
            var storage = CliStorage.Connect(pr.GetValue(Connection));
            await action(new ModelRegistry(storage.Blobs, storage.Tables));
            return 0;
        }
        catch (MlopsException e)
        {
            // 4xx-style errors are the user's to fix: a clear message and exit code 1 (2 for conflicts, worth a retry).
            Err(pr).MarkupLine($"[red]error[/] {Esc(e.Code)}: {Esc(e.Message)}");
            return e.Status == 409 ? 2 : 1;
        }
        catch (Mlops.Core.Storage.StorageUnavailableException e)
        {
            Err(pr).MarkupLine($"[red]error[/] storage unavailable: {Esc(e.Message)}");
            return 3;
        }
    }

    /// <summary>Output goes to the invocation's writers (the console normally, a buffer in tests), errors to
    /// stderr.</summary>
    private static IAnsiConsole Out(ParseResult pr) => CliStorage.Console(pr.InvocationConfiguration.Output);

    private static IAnsiConsole Err(ParseResult pr) => CliStorage.Console(pr.InvocationConfiguration.Error);

    private static ChangeContext Ctx(ParseResult pr) =>
        new(pr.GetValue(Reason), pr.GetValue(Actor) ?? $"cli:{Environment.UserName}");

    private static void Changed(ParseResult pr, HistoryEntry e)
    {
        if (Json(pr, e))
            return;
        Out(pr)
            .MarkupLine(
                e.Reason == "unchanged"
                    ? $"unchanged (revision {e.Revision})"
                    : $"revision {e.Revision}: {Esc(e.Kind.ToString())}{(e.FromVersion is null && e.ToVersion is null ? "" : $" v{e.FromVersion?.ToString() ?? "-"} → v{e.ToVersion?.ToString() ?? "-"}")}; aliases {Esc(string.Join(", ", e.Aliases.Select(x => $"{x.Key}→v{x.Value}")))}; traffic {Esc(TrafficText(e.Traffic, e.Aliases))}"
            );
    }

    private static bool Json<T>(ParseResult pr, T value)
    {
        if (!pr.GetValue(JsonOutput))
            return false;
        pr.InvocationConfiguration.Output.WriteLine(Mlops.Core.Json.Serialize(value, indented: true));
        return true;
    }

    private static string Traffic(ServingState s) => TrafficText(s.Traffic, s.Aliases);

    private static string TrafficText(TrafficConfig? t, IReadOnlyDictionary<string, int> aliases)
    {
        string routes =
            t is { Routes.Count: > 0 } ? string.Join(" ", t.Routes.Select(r => $"v{r.Version}:{r.Weight}%"))
            : aliases.TryGetValue(ModelRegistry.ProductionAlias, out int p) ? $"v{p}:100% (production)"
            : "none";
        if (t is { Shadow.Count: > 0 })
            routes += $" shadow {string.Join(",", t.Shadow.Select(v => $"v{v}"))}";
        if (t?.AutoRollback is { } ar)
            routes +=
                $" auto-rollback(err>{ar.MaxErrorRate?.ToString(CultureInfo.InvariantCulture) ?? "-"}, p99>{ar.MaxP99LatencyMs?.ToString(CultureInfo.InvariantCulture) ?? "-"}ms)";
        return routes;
    }

    private static string Metrics(ModelMetrics m) =>
        string.Join(
            " ",
            m.Overall.OrderBy(k => k.Key)
                .Take(4)
                .Select(k => $"{k.Key}={k.Value.ToString("0.####", CultureInfo.InvariantCulture)}")
        );

    private static string Num(double? v) => v?.ToString("0.#####", CultureInfo.InvariantCulture) ?? "-";

    private static string Short(string? s) =>
        s is null ? "-"
        : s.Length > 12 ? s[..12]
        : s;

    private static string Esc(string s) => Markup.Escape(s);
}
