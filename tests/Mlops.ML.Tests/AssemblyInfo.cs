// Mlops.ML.Tests
