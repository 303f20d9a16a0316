Console.WriteLine("mlops");
