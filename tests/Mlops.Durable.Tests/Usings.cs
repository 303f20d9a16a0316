global using Mlops.Durable;
global using Mlops.Testing;
global using Xunit;
