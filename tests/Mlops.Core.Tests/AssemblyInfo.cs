// Mlops.Core.Tests
