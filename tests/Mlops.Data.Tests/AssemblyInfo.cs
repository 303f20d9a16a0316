// Mlops.Data.Tests
