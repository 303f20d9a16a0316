// Mlops.Durable.Tests
