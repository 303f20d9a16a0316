Console.WriteLine("MlopsFunctions host");
