using Microsoft.Extensions.Configuration;
using Mlops.Functions.Hosting;
using Xunit;

namespace Mlops.Functions.Tests.Hosting;

public sealed class AppSettingsTests
{
    private static AppSettings From(params (string Key, string Value)[] values) =>
        AppSettings.FromConfiguration(
            new ConfigurationBuilder()
                .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
                .Build()
        );

    [Fact]
    public void FromConfiguration_Nothing_IsTheLocalHostIdWithoutASchedule()
    {
        var s = From();
        Assert.Equal("mlops-local", s.HostId);
        Assert.Null(s.RetrainSchedule);
    }

    [Fact]
    public void FromConfiguration_InAzure_TheSiteNameIsTheHostId_UnlessMlopsHostIdSaysOtherwise()
    {
        Assert.Equal("my-app", From(("WEBSITE_SITE_NAME", "my-app")).HostId);
        Assert.Equal("mine", From(("WEBSITE_SITE_NAME", "my-app"), ("MLOPS_HOST_ID", "mine")).HostId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void FromConfiguration_EmptySchedule_MeansNone(string schedule) =>
        Assert.Null(From(("RETRAIN_SCHEDULE", schedule)).RetrainSchedule);

    [Fact]
    public void FromConfiguration_FiveFieldSchedule_FailsNamingTheSettingAndTheOffSwitch()
    {
        var e = Assert.Throws<InvalidOperationException>(() => From(("RETRAIN_SCHEDULE", "0 2 * * *")));
        Assert.Contains("RETRAIN_SCHEDULE", e.Message);
        Assert.Contains("AzureWebJobs.ScheduledRetraining.Disabled", e.Message);
    }

    [Fact]
    public void LocalSettings_DisableScheduledRetraining_WithAScheduleTheHostCanStillParse()
    {
        var values = System
            .Text.Json.JsonDocument.Parse(
                File.ReadAllText(
                    Path.Combine(
                        Mlops.Testing.AzuriteInstance.RepoRoot(),
                        "functions",
                        "Mlops.Functions",
                        "local.settings.json"
                    )
                )
            )
            .RootElement.GetProperty("Values");
        Assert.Equal("true", values.GetProperty("AzureWebJobs.ScheduledRetraining.Disabled").GetString());
        Assert.Equal(
            "0 0 2 * * *",
            From(("RETRAIN_SCHEDULE", values.GetProperty("RETRAIN_SCHEDULE").GetString()!)).RetrainSchedule
        );
        Assert.Equal("dotnet-isolated", values.GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
    }
}

public sealed class WorkerHostTests
{
    [Theory]
    [InlineData(
        "--host",
        "127.0.0.1",
        "--port",
        "50051",
        "--workerId",
        "w1",
        "--requestId",
        "r1",
        "--grpcMaxMessageLength",
        "2147483647"
    )]
    [InlineData(
        "--functions-uri",
        "http://127.0.0.1:50051/",
        "--functions-worker-id",
        "w1",
        "--functions-request-id",
        "r1"
    )]
    public void IsStartedByHost_EitherArgumentForm_IsTheHost(params string[] args) =>
        Assert.True(WorkerHost.IsStartedByHost(args));

    [Theory]
    [InlineData]
    [InlineData("--demo")]
    [InlineData("--host", "127.0.0.1", "--port", "50051")] // no worker id: not a host's start
    [InlineData("--host", "--port", "50051", "--workerId", "w1")] // the host value is missing
    public void IsStartedByHost_PlainRunOrPartialArguments_IsNot(params string[] args) =>
        Assert.False(WorkerHost.IsStartedByHost(args));

    [Fact]
    public void NotUnderHostMessage_NamesTheLocalHostsRunCommand() =>
        Assert.Contains("dotnet run --project functions/Mlops.Host", WorkerHost.NotUnderHostMessage);
}

public sealed class HostJsonTests
{
    [Fact]
    public void FunctionTimeout_IsUnbounded_SoTrainingIsNotCutAtTheConsumptionPlansTenMinutes()
    {
        // Flex Consumption: default 30 min, maximum unbounded ("-1"); long work is still resumable (Durable).
        var hostJson = System
            .Text.Json.JsonDocument.Parse(
                File.ReadAllText(Path.Combine(Mlops.Testing.AzuriteInstance.RepoRoot(), "host.json"))
            )
            .RootElement;
        Assert.Equal("-1", hostJson.GetProperty("functionTimeout").GetString());
        Assert.Equal("", hostJson.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString()); // routes carry api/ themselves
    }
}
