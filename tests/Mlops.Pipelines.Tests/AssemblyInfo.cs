// Mlops.Pipelines.Tests
