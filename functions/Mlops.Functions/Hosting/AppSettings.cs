using Microsoft.Extensions.Configuration;

namespace Mlops.Functions.Hosting;

/// <summary>
/// The app's own settings, read from configuration (the Functions host passes app settings as environment variables).
/// Validated at start-up so a typo fails fast with a readable message rather than at the first tick or request.
/// </summary>
public sealed record AppSettings
{
    /// <summary>The setting the retraining timer's schedule is read from (<c>%RETRAIN_SCHEDULE%</c>).</summary>
    public const string RetrainScheduleSetting = "RETRAIN_SCHEDULE";

    /// <summary>
    /// <c>MLOPS_HOST_ID</c>, else <c>WEBSITE_SITE_NAME</c> (the app's name in Azure), else <c>mlops-local</c>: names
    /// this deployment in <c>/api/health</c>.
    /// </summary>
    public string HostId { get; init; } = "mlops-local";

    /// <summary>
    /// <c>RETRAIN_SCHEDULE</c>: 6-field NCRONTAB on which every configured dataset retrains. The timer is switched off
    /// the way the Functions host switches any function off, <c>AzureWebJobs.ScheduledRetraining.Disabled=true</c>;
    /// the schedule itself must then still parse (the host resolves it while indexing), so it is never empty.
    /// </summary>
    public string? RetrainSchedule { get; init; }

    /// <summary>Reads and validates the settings.</summary>
    /// <exception cref="InvalidOperationException">A setting is present but malformed; the message names it and the
    /// fix.</exception>
    public static AppSettings FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? Get(string key) => string.IsNullOrWhiteSpace(configuration[key]) ? null : configuration[key]!.Trim();
        var settings = new AppSettings
        {
            HostId = Get("MLOPS_HOST_ID") ?? Get("WEBSITE_SITE_NAME") ?? "mlops-local",
            RetrainSchedule = Get(RetrainScheduleSetting),
        };
        if (
            settings.RetrainSchedule is { } cron
            && !Mlops.Core.Scheduling.CronSchedule.TryParse(cron, out _, out string? why)
        )
            throw new InvalidOperationException(
                $"{RetrainScheduleSetting} '{cron}' is not a 6-field NCRONTAB expression ({why}). Example: \"0 0 2 * * *\" (02:00 UTC daily); "
                    + "to switch scheduled retraining off set AzureWebJobs.ScheduledRetraining.Disabled=true."
            );
        return settings;
    }
}
