// Benchmarks, one subcommand per area: `dotnet run -c Release --project bench/Mlops.Bench -- <area> [options]`.
// Each prints a table with peers measured in the same run.
return args.Length > 0
    ? args[0] switch
    {
        "ml" => Mlops.Bench.Ml.MlBench.Run(args[1..]),
        "ml-profile" => Mlops.Bench.Ml.MlProfile.Run(args[1..]),
        "ml-memory" => Mlops.Bench.Ml.MlMemory.Run(args[1..]),
        "ml-outofcore" => Mlops.Bench.Ml.MlOutOfCore.Run(args[1..]),
        "sweep" => Mlops.Bench.Sweep.SweepBench.Run(args[1..]),
        "data" => await RunAsync(() => Mlops.Bench.Data.DataBench.RunAsync(args[1..])),
        "durable" => Mlops.Bench.Durable.DurableBench.Run(args[1..]),
        "serve" => Mlops.Bench.Serve.ServeBench.Run(args[1..]),
        "serve-ids" => await Mlops.Bench.Serve.IdsOverheadBench.RunAsync(args[1..]),
        "serve-explain" => await Mlops.Bench.Serve.ExplainBench.RunAsync(args[1..]),
        "storage" => await Mlops.Bench.Storage.StorageBench.RunAsync(args[1..]),
        "chaos" => Mlops.Bench.Chaos.ChaosBench.Run(args[1..]),
        "drop" => await Mlops.Bench.Drop.DropBench.RunAsync(args[1..]),
        "monitor" => await Mlops.Bench.Monitor.MonitorBench.RunAsync(args[1..]),
        "monitor-run" => await Mlops.Bench.Monitor.MonitorBench.RunWindowAsync(args[1..]),
        "dashboard" => await Mlops.Bench.Dashboard.DashboardBench.RunAsync(args[1..]),
        "tracking" => await Mlops.Bench.Tracking.TrackingBench.RunAsync(args[1..]),
        "batch" => await Mlops.Bench.Batch.BatchBench.RunAsync(args[1..]),
        _ => Usage(),
    }
    : Usage();

static async Task<int> RunAsync(Func<Task> bench)
{
    await bench();
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine(
        "usage: Mlops.Bench <ml|ml-profile|ml-memory|ml-outofcore|sweep|data|durable|serve|serve-ids|serve-explain|storage|chaos|drop|monitor|dashboard|tracking|batch> [options]   (ml: --quick, --skip-peers, --only NAME; sweep: --trials N --seeds S --batch B --only NAME; ml, sweep, ml-outofcore, chaos: --quiet hides the progress on stderr)"
    );
    return 2;
}
