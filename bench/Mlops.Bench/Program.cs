// Benchmarks, one subcommand per area: `dotnet run -c Release --project bench/Mlops.Bench -- ml [--quick]`.
return args.Length > 0 ? args[0] switch
{
    "ml" => Mlops.Bench.Ml.MlBench.Run(args[1..]),
    "ml-profile" => Mlops.Bench.Ml.MlProfile.Run(args[1..]),
    "ml-memory" => Mlops.Bench.Ml.MlMemory.Run(args[1..]),
    _ => Usage(),
} : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: Mlops.Bench <ml> [options]   (ml: --quick, --skip-peers, --only NAME)");
    return 2;
}
