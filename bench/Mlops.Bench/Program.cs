Console.WriteLine("Benchmarks: see bench/README.md");
