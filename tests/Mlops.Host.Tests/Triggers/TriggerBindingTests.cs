using System.Text.Json;
using Azure.Storage.Blobs.Models;
using Mlops.Host.Protocol;
using Mlops.Host.Triggers;
using Xunit;
using WorkerTimerInfo = Microsoft.Azure.Functions.Worker.TimerInfo;

namespace Mlops.Host.Tests.Triggers;

/// <summary>What the host sends the worker for a blob or timer firing, checked against the shapes the worker
/// reads.</summary>
public class TriggerBindingTests
{
    private static readonly AppSettings Settings = new(name =>
        name switch
        {
            "AzureWebJobsStorage" => "UseDevelopmentStorage=true",
            "DATA_CONTAINER" => "incoming",
            "TEST_SCHEDULE" => "0 */5 * * * *",
            "EMPTY_SCHEDULE" => "",
            _ => null,
        }
    );

    [Fact]
    public void CreateInvocation_BlobClientParameter_SendsModelBindingDataTheWorkerConverterReads()
    {
        var worker = new FakeWorker();
        var function = BlobTriggerFunction.Create(
            worker.AddBlobTrigger("OnData", "%DATA_CONTAINER%/{dataset}/{name}"),
            Settings
        );
        var properties = BlobsModelFactory.BlobProperties(
            contentLength: 42,
            contentType: "text/csv",
            metadata: new Dictionary<string, string> { ["source"] = "cli" }
        );

        var request = function.CreateInvocation(
            "incoming",
            "iris/a.csv",
            new Uri("http://127.0.0.1:10000/devstoreaccount1/incoming/iris/a.csv"),
            properties,
            function.Path.Match("incoming", "iris/a.csv")!
        );

        var data = request.InputData.Single();
        Assert.Equal("blob", data.Name);
        Assert.Equal("AzureStorageBlobs", data.Data.ModelBindingData.Source);
        Assert.Equal("application/json", data.Data.ModelBindingData.ContentType);
        Assert.Equal("1.0", data.Data.ModelBindingData.Version);
        var content = FakeWorker.BlobBindingData(request);
        Assert.Equal("AzureWebJobsStorage", content.GetProperty("Connection").GetString());
        Assert.Equal("incoming", content.GetProperty("ContainerName").GetString());
        Assert.Equal("iris/a.csv", content.GetProperty("BlobName").GetString());
    }

    [Fact]
    public void CreateInvocation_Blob_TriggerMetadataHasTheExtensionsBindingData()
    {
        var worker = new FakeWorker();
        var function = BlobTriggerFunction.Create(
            worker.AddBlobTrigger("OnData", "incoming/{dataset}/{name}"),
            Settings
        );
        var properties = BlobsModelFactory.BlobProperties(
            contentLength: 42,
            metadata: new Dictionary<string, string> { ["source"] = "cli" }
        );
        var uri = new Uri("http://127.0.0.1:10000/devstoreaccount1/incoming/iris/a.csv");

        var metadata = function
            .CreateInvocation("incoming", "iris/a.csv", uri, properties, function.Path.Match("incoming", "iris/a.csv")!)
            .TriggerMetadata;

        Assert.Equal("incoming/iris/a.csv", metadata["BlobTrigger"].String);
        Assert.Equal(uri.AbsoluteUri, JsonSerializer.Deserialize<string>(metadata["Uri"].Json));
        Assert.Equal(
            42,
            JsonDocument.Parse(metadata["Properties"].Json).RootElement.GetProperty("ContentLength").GetInt64()
        );
        Assert.Equal(
            "cli",
            JsonDocument.Parse(metadata["Metadata"].Json).RootElement.GetProperty("source").GetString()
        );
        Assert.Equal("iris", metadata["dataset"].String);
        Assert.Equal("a.csv", metadata["name"].String);
    }

    [Fact]
    public void CreateInvocation_PathParameterNamedLikeABuiltIn_OverridesIt()
    {
        var worker = new FakeWorker();
        var function = BlobTriggerFunction.Create(worker.AddBlobTrigger("OnData", "incoming/{uri}"), Settings);

        var metadata = function
            .CreateInvocation(
                "incoming",
                "x",
                new Uri("http://h/a/incoming/x"),
                BlobsModelFactory.BlobProperties(),
                function.Path.Match("incoming", "x")!
            )
            .TriggerMetadata;

        Assert.Equal(
            "x",
            Assert.Single(metadata, m => m.Key.Equals("uri", StringComparison.OrdinalIgnoreCase)).Value.String
        );
    }

    [Fact]
    public void Create_BlobTriggerWithUnknownConnection_NamesFunctionAndSetting()
    {
        var worker = new FakeWorker();

        var error = Assert.Throws<InvalidOperationException>(() =>
            BlobTriggerFunction.Create(
                worker.AddBlobTrigger("OnData", "incoming/{name}", connection: "DataAccount"),
                Settings
            )
        );

        Assert.Contains("'OnData'", error.Message);
        Assert.Contains("AzureWebJobsDataAccount", error.Message);
    }

    [Fact]
    public void TimerInfoJson_DeserializesIntoTheWorkersTimerInfo()
    {
        var schedule = TimerSchedule.Parse("0 */5 * * * *");
        var last = new DateTime(2026, 12, 3, 10, 0, 0, DateTimeKind.Local);
        var status = new ScheduleStatus(last, schedule.GetNextOccurrence(last), last);

        string json = ScheduleStatus.TimerInfoJson(schedule, status, isPastDue: true);
        // The worker's TimerInfoConverter (Worker.Extensions.Timer 4.3.1) reads with these options.
        var info = JsonSerializer.Deserialize<WorkerTimerInfo>(
            json,
            new JsonSerializerOptions
            {
                PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
                PropertyNameCaseInsensitive = true,
            }
        )!;

        Assert.True(info.IsPastDue);
        Assert.Equal(last, info.ScheduleStatus!.Last);
        Assert.Equal(last.AddMinutes(5), info.ScheduleStatus.Next);
        Assert.Equal(last, info.ScheduleStatus.LastUpdated);
        Assert.True(
            JsonDocument.Parse(json).RootElement.GetProperty("Schedule").GetProperty("AdjustForDST").GetBoolean()
        );
    }

    [Fact]
    public void ScheduleStatus_RoundTripsThroughTheStatusBlobJson()
    {
        var status = new ScheduleStatus(
            new DateTime(2026, 12, 3, 10, 0, 0),
            new DateTime(2026, 12, 3, 10, 5, 0),
            new DateTime(2026, 12, 3, 10, 0, 1)
        );

        var read = ScheduleStatus.FromJson(status.ToJson().ToJsonString());

        Assert.Equal(status, read);
        Assert.Equal(
            DateTime.MinValue,
            ScheduleStatus.FromJson("""{"Last":"0001-01-01T00:00:00+00:00","Next":"2026-12-03T10:05:00+00:00"}""")!.Last
        );
        Assert.Null(ScheduleStatus.FromJson("not json"));
    }

    [Fact]
    public void CreateInvocation_Timer_SendsTimerInfoJsonAndTimerTriggerMetadata()
    {
        var worker = new FakeWorker();
        var timer = TimerTriggerFunction.Create(worker.AddTimer("Retrain", "%TEST_SCHEDULE%"), Settings);

        var request = timer.CreateInvocation(
            new ScheduleStatus(DateTime.MinValue, DateTime.Now.AddMinutes(5), DateTime.Now),
            isPastDue: false
        );

        Assert.Equal("timer", request.InputData[0].Name);
        Assert.Equal(TypedData.DataOneofCase.Json, request.InputData[0].Data.DataCase);
        Assert.False(
            JsonDocument.Parse(request.InputData[0].Data.Json).RootElement.GetProperty("IsPastDue").GetBoolean()
        );
        Assert.True(request.TriggerMetadata.ContainsKey("TimerTrigger"));
        Assert.Equal("Host.Functions.Retrain", timer.TimerName);
        Assert.True(timer.UseMonitor);
    }

    [Theory]
    [InlineData("%MISSING_SCHEDULE%", "'%MISSING_SCHEDULE%' does not resolve to a value")]
    [InlineData("%EMPTY_SCHEDULE%", "the setting behind '%EMPTY_SCHEDULE%' is empty")]
    [InlineData("", "the schedule is empty")]
    [InlineData("every day", "'every day' was not recognized as a valid cron expression or timespan string")]
    [InlineData("0 0 25 * * *", "was not recognized")]
    public void Create_BadSchedule_ErrorNamesFunctionAndSchedule(string schedule, string reason)
    {
        var worker = new FakeWorker();

        var error = Assert.Throws<InvalidOperationException>(() =>
            TimerTriggerFunction.Create(worker.AddTimer("Retrain", schedule), Settings)
        );

        Assert.Contains("'Retrain'", error.Message);
        Assert.Contains($"schedule '{schedule}'", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Create_SubMinuteSchedule_HasNoScheduleMonitorLikeTheHost()
    {
        var worker = new FakeWorker();

        Assert.False(TimerTriggerFunction.Create(worker.AddTimer("Fast", "*/5 * * * * *"), Settings).UseMonitor);
        Assert.False(TimerTriggerFunction.Create(worker.AddTimer("FastSpan", "00:00:30"), Settings).UseMonitor);
        Assert.True(TimerTriggerFunction.Create(worker.AddTimer("Minutely", "0 * * * * *"), Settings).UseMonitor);
        Assert.False(
            TimerTriggerFunction.Create(worker.AddTimer("Off", "0 0 * * * *", useMonitor: false), Settings).UseMonitor
        );
    }
}
