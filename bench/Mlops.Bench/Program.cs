switch (args.FirstOrDefault())
{
    case "data": await Mlops.Bench.Data.DataBench.RunAsync(args[1..]); break;
    default: Console.WriteLine("Benchmarks: see bench/README.md"); break;
}
