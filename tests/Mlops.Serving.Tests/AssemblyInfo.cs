// Mlops.Serving.Tests
