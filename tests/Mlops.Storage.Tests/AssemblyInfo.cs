// Mlops.Storage.Tests
