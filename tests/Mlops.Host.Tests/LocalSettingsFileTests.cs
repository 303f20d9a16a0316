using Mlops.Host.Hosting;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>The app's local.settings.json reaches the worker as `func start` gives it: environment first.</summary>
public class LocalSettingsFileTests
{
    [Fact]
    public void Read_Values_ExceptStorageAndWhatTheEnvironmentSets()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(
            Path.Combine(dir, LocalSettingsFile.FileName),
            """
            {
              // Core Tools accepts comments
              "IsEncrypted": false,
              "Values": {
                "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                "RETRAIN_SCHEDULE": "0 0 2 * * *",
                "AzureWebJobs.ScheduledRetraining.Disabled": "true",
                "SET_OUTSIDE": "from the file",
                "A_NUMBER": 3,
              }
            }
            """
        );
        var values = LocalSettingsFile.Read(dir, name => name == "SET_OUTSIDE" ? "from the environment" : null);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["RETRAIN_SCHEDULE"] = "0 0 2 * * *",
                ["AzureWebJobs.ScheduledRetraining.Disabled"] = "true",
                ["A_NUMBER"] = "3",
            },
            values
        );
    }

    [Fact]
    public void Read_NoFile_Nothing_BadJson_ErrorNamingTheFile()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        Assert.Empty(LocalSettingsFile.Read(dir));
        File.WriteAllText(Path.Combine(dir, LocalSettingsFile.FileName), "{ \"Values\": ");
        var e = Assert.Throws<InvalidOperationException>(() => LocalSettingsFile.Read(dir));
        Assert.Contains(LocalSettingsFile.FileName, e.Message);
    }

    [Fact]
    public void TheAppsOwnFile_SwitchesTheRetrainingTimerOffLocally()
    {
        // The run command's first start must not greet a newcomer with a timer that cannot run.
        string app = Path.Combine(Mlops.Testing.AzuriteInstance.RepoRoot(), "functions", "Mlops.Functions");
        var values = LocalSettingsFile.Read(app, _ => null);
        Assert.Equal("true", values["AzureWebJobs.ScheduledRetraining.Disabled"]);
        Assert.False(string.IsNullOrWhiteSpace(values["RETRAIN_SCHEDULE"]));
    }
}
