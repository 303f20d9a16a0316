// Mlops.Registry.Tests
