// Benchmarks, one subcommand per area: `dotnet run -c Release --project bench/Mlops.Bench -- serve`.
return args.Length > 0 ? args[0] switch
{
    "serve" => Mlops.Bench.Serve.ServeBench.Run(args[1..]),
    _ => Usage(),
} : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: Mlops.Bench <serve> [options]   (serve: --seconds N, --skip-peer, --skip-azurite)");
    return 2;
}
