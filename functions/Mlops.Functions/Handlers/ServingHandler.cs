using Mlops.Core.Errors;
using Mlops.Functions.Hosting;
using Mlops.Serving;

namespace Mlops.Functions.Handlers;

/// <summary>What this worker serves right now: live traffic per version and its serving counters.</summary>
public sealed class ServingHandler(ServingRuntime runtime, PredictionLogAndShadowRunner log)
{
    /// <summary>
    /// Per routed or shadow version: weight, request rate, error rate and mean latency over the last
    /// <paramref name="seconds"/> (default 300, at most 3600), as this worker served them.
    /// </summary>
    public ApiResponse LiveTraffic(string model, string? seconds)
    {
        int window = RequestQuery.OptionalPositiveInt("seconds", seconds) ?? 300;
        if (window is < 1 or > 3600)
            throw new ServingException(
                "serving.bad_window",
                "?seconds= must be between 1 and 3600 (the statistics cover the last hour).",
                400
            );
        return ApiResponse.Json(
            new
            {
                model,
                seconds = window,
                versions = runtime.LiveTraffic(model, window),
            }
        );
    }

    /// <summary>This worker's serving counters (requests, bad requests, shadow, log).</summary>
    public ApiResponse Stats() =>
        ApiResponse.Json(
            new
            {
                counters = runtime.Metrics.ToDictionary(),
                logBacklog = log.Backlog,
                models = runtime.ServedModels,
            }
        );
}
