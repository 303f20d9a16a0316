using Mlops.Core.Errors;
using Mlops.Functions.Hosting;
using Mlops.Registry;
using Mlops.Serving;

namespace Mlops.Functions.Handlers;

/// <summary>
/// The model registry's operations as the HTTP API offers them: versions, ONNX export, aliases, promote/rollback,
/// archive, comparison and history. Bodies are read strictly (<see cref="RequestJson"/>): a binding failure would be a
/// 400 with an empty body, while a typed error names the problem (unknown key, bad number, invalid UTF-8, ...).
/// </summary>
public sealed class ModelHandler(ModelRegistry registry, ServingRuntime runtime)
{
    /// <summary>Header naming the person or system making a change when the body does not.</summary>
    public const string ActorHeader = "x-mlops-actor";

    /// <summary>All models with latest version and aliases.</summary>
    public async Task<ApiResponse> ListAsync(CancellationToken cancellationToken = default) =>
        ApiResponse.Json(await registry.ListModelsAsync(cancellationToken));

    /// <summary>Versions with metrics, and which alias points where.</summary>
    public async Task<ApiResponse> GetAsync(string model, CancellationToken cancellationToken = default) =>
        ApiResponse.Json(await registry.GetModelAsync(model, cancellationToken));

    /// <summary>One version with metrics, gate decision and lineage.</summary>
    public async Task<ApiResponse> GetVersionAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    )
    {
        var v = await registry.GetVersionAsync(model, version, cancellationToken);
        return ApiResponse.Json(
            new { version = v, lineage = await registry.ReadLineageAsync(model, version, cancellationToken) }
        );
    }

    /// <summary>The version as an ONNX-ML graph (inputs named as the columns; outputs label and
    /// probabilities).</summary>
    public async Task<ApiResponse> GetOnnxAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    )
    {
        byte[] file = await registry.ReadModelFileAsync(model, version, cancellationToken);
        byte[] onnx;
        try
        {
            onnx = Mlops.ML.Onnx.OnnxExporter.Export(Mlops.ML.Models.Model.Load(new MemoryStream(file)));
        }
        catch (Mlops.ML.MlException ex)
        {
            // e.g. a date/time input (not exportable yet) or an unreadable file: the request cannot be served as asked.
            throw new MlopsException("onnx." + ex.Code, ex.Message, 422);
        }
        return ApiResponse.File(onnx, "application/octet-stream", $"{model}-v{version}.onnx");
    }

    /// <summary>Global importance stored at registration: mean |SHAP| per input column over the held-out
    /// rows.</summary>
    public async Task<ApiResponse> GetImportanceAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    ) =>
        await registry.ReadVersionFileAsync(
            model,
            version,
            Mlops.ML.Explain.AttributionSummary.FileName,
            cancellationToken
        )
            is { } json
            ? ApiResponse.Text(System.Text.Encoding.UTF8.GetString(json), "application/json")
            : throw new MlopsException(
                "registry.no_importance",
                $"{model} v{version} has no global importance (registered before explanations, or a model that cannot be explained).",
                404
            );

    /// <summary>Points an alias at a version (one ETag-guarded write; 409 on a concurrent change).</summary>
    public async Task<ApiResponse> SetAliasAsync(
        string model,
        string alias,
        Stream body,
        string? actorHeader,
        CancellationToken cancellationToken = default
    )
    {
        var request = await VersionBodyAsync(body, "alias", cancellationToken);
        return await ChangedAsync(
            model,
            await registry.SetAliasAsync(
                model,
                alias,
                request.Version,
                Change(request.Reason, request.Actor, actorHeader),
                cancellationToken
            )
        );
    }

    /// <summary>Removes an alias.</summary>
    public async Task<ApiResponse> RemoveAliasAsync(
        string model,
        string alias,
        Stream body,
        string? actorHeader,
        CancellationToken cancellationToken = default
    )
    {
        var request = await OptionalBodyAsync<ChangeRequest>(body, "remove-alias", cancellationToken);
        return await ChangedAsync(
            model,
            await registry.RemoveAliasAsync(
                model,
                alias,
                Change(request?.Reason, request?.Actor, actorHeader),
                cancellationToken
            )
        );
    }

    /// <summary>Makes a version production (gate and approval respected unless <c>force</c>).</summary>
    public async Task<ApiResponse> PromoteAsync(
        string model,
        Stream body,
        string? actorHeader,
        CancellationToken cancellationToken = default
    )
    {
        var request = await VersionBodyAsync(body, "promote", cancellationToken);
        var entry = await registry.PromoteAsync(
            model,
            request.Version,
            Change(request.Reason, request.Actor, actorHeader),
            request.Force,
            cancellationToken
        );
        return await ChangedAsync(model, entry);
    }

    /// <summary>Returns production to the previous production version and clears traffic splits.</summary>
    public async Task<ApiResponse> RollbackAsync(
        string model,
        Stream body,
        string? actorHeader,
        CancellationToken cancellationToken = default
    )
    {
        var request = await OptionalBodyAsync<ChangeRequest>(body, "rollback", cancellationToken);
        return await ChangedAsync(
            model,
            await registry.RollbackAsync(model, Change(request?.Reason, request?.Actor, actorHeader), cancellationToken)
        );
    }

    /// <summary>Archives a version not in use.</summary>
    public async Task<ApiResponse> ArchiveAsync(
        string model,
        int version,
        Stream body,
        string? actorHeader,
        CancellationToken cancellationToken = default
    )
    {
        var request = await OptionalBodyAsync<ChangeRequest>(body, "archive", cancellationToken);
        return ApiResponse.Json(
            await registry.ArchiveAsync(
                model,
                version,
                Change(request?.Reason, request?.Actor, actorHeader),
                cancellationToken
            )
        );
    }

    /// <summary>Two versions' metrics side by side (<c>?a=&amp;b=</c> version numbers).</summary>
    public async Task<ApiResponse> CompareAsync(
        string model,
        string? a,
        string? b,
        CancellationToken cancellationToken = default
    ) =>
        ApiResponse.Json(
            await registry.CompareAsync(
                model,
                RequestQuery.PositiveInt("a", a),
                RequestQuery.PositiveInt("b", b),
                cancellationToken
            )
        );

    /// <summary>Every alias and traffic change; with <paramref name="at"/> the state in force at that time.</summary>
    public async Task<ApiResponse> HistoryAsync(
        string model,
        string? at,
        CancellationToken cancellationToken = default
    ) =>
        at is null
            ? ApiResponse.Json(await registry.GetHistoryAsync(model, null, cancellationToken))
            : ApiResponse.Json(
                await registry.GetStateAtAsync(model, RequestQuery.Time("at", at)!.Value, cancellationToken)
            );

    /// <summary>Sets weights (sum 100), shadow versions and automatic rollback (ETag-guarded, recorded in
    /// history).</summary>
    public async Task<ApiResponse> SetTrafficAsync(
        string model,
        Stream body,
        string? actorHeader,
        CancellationToken cancellationToken = default
    )
    {
        var request = (
            await RequestJson.ReadAsync<TrafficRequest>(body, "traffic", cancellationToken: cancellationToken)
        )!;
        var config = new TrafficConfig
        {
            Routes = request.Routes ?? [],
            Shadow = request.Shadow ?? [],
            AutoRollback = request.AutoRollback,
        };
        return await ChangedAsync(
            model,
            await registry.SetTrafficAsync(
                model,
                config,
                Change(request.Reason, request.Actor, actorHeader),
                cancellationToken
            )
        );
    }

    /// <summary>Effective traffic routes, shadow versions and rollback policy.</summary>
    public async Task<ApiResponse> GetTrafficAsync(string model, CancellationToken cancellationToken = default)
    {
        var state = await registry.GetStateAsync(model, cancellationToken);
        return ApiResponse.Json(
            new
            {
                model,
                revision = state.Revision,
                production = state.Production,
                routes = state.EffectiveRoutes,
                shadow = state.Traffic?.Shadow ?? [],
                autoRollback = state.Traffic?.AutoRollback,
            }
        );
    }

    private static async Task<VersionChangeRequest> VersionBodyAsync(
        Stream body,
        string what,
        CancellationToken cancellationToken
    )
    {
        var request = (
            await RequestJson.ReadAsync<VersionChangeRequest>(body, what, cancellationToken: cancellationToken)
        )!;
        if (request.Version < 1)
            throw new MlopsException(
                RequestJson.InvalidBodyCode,
                $"The {what} body is invalid: \"version\" must be a positive version number, got {request.Version}."
            );
        return request;
    }

    private static Task<T?> OptionalBodyAsync<T>(Stream body, string what, CancellationToken cancellationToken)
        where T : class => RequestJson.ReadAsync<T>(body, what, optional: true, cancellationToken: cancellationToken);

    private static ChangeContext Change(string? reason, string? actor, string? actorHeader) =>
        new(reason, actor ?? (string.IsNullOrEmpty(actorHeader) ? null : actorHeader) ?? "api");

    /// <summary>After a change made through this app, serve it here at once instead of at the next poll.</summary>
    private async Task<ApiResponse> ChangedAsync(string model, HistoryEntry entry)
    {
        try
        {
            await runtime.RefreshAsync(model, CancellationToken.None);
        }
        catch (Exception)
        { /* the poll will pick it up */
        }
        return ApiResponse.Json(entry);
    }
}
