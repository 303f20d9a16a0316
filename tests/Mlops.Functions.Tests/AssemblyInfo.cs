// Mlops.Functions.Tests
