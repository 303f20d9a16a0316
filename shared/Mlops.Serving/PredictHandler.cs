using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.ML.Explain;
using Mlops.Registry;

namespace Mlops.Serving;

/// <summary>Writes predictions in the response/log shape: <c>{"label": "...", "probabilities": {...}}</c> or
/// <c>{"value": x}</c>.</summary>
internal static class PredictionJson
{
    private static readonly JsonEncodedText Label = JsonEncodedText.Encode("label");
    private static readonly JsonEncodedText Probabilities = JsonEncodedText.Encode("probabilities");
    private static readonly JsonEncodedText Value = JsonEncodedText.Encode("value");

    /// <summary>
    /// Writes the predictions array; with <paramref name="explanations"/> (parallel to the predictions) each prediction
    /// also carries its <c>"explanation"</c>, cut to the <paramref name="explainTop"/> largest contributions when
    /// positive.
    /// </summary>
    public static void WritePredictions(
        Utf8JsonWriter w,
        ModelSignature signature,
        ReadOnlySpan<Prediction> predictions,
        Explanation?[]? explanations = null,
        int explainTop = 0
    )
    {
        w.WriteStartArray();
        var classes = signature.EncodedClasses;
        int row = 0;
        foreach (ref readonly var p in predictions)
        {
            w.WriteStartObject();
            if (signature.Task == PredictionTask.Regression)
            {
                WriteNumber(w, Value, p.Value);
            }
            else
            {
                w.WriteString(Label, p.Label);
                w.WriteStartObject(Probabilities);
                var probs = p.Probabilities ?? [];
                for (int c = 0; c < classes.Length && c < probs.Length; c++)
                    WriteNumber(w, classes[c], probs[c]);
                w.WriteEndObject();
            }
            if (explanations?[row] is { } e)
                ExplanationJson.Write(w, e, explainTop);
            row++;
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Writes <paramref name="ids"/> as a string array property.</summary>
    public static void WriteIds(Utf8JsonWriter w, JsonEncodedText name, ReadOnlySpan<string> ids)
    {
        w.WriteStartArray(name);
        foreach (var id in ids)
            w.WriteStringValue(id);
        w.WriteEndArray();
    }

    // JSON has no NaN/Infinity: a model that produces one answers null rather than breaking the response.
    private static void WriteNumber(Utf8JsonWriter w, JsonEncodedText name, double v)
    {
        if (double.IsFinite(v))
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }
}

/// <summary>
/// The prediction hot path: read the body within the size limit, parse once, pick the version from one snapshot read,
/// validate against that version's schema, predict, answer, and hand the log entry to the background logger.
/// Every user error is a 4xx with a JSON <c>{"error":{code,message,details}}</c> body.
/// </summary>
public sealed class PredictHandler(
    ServingRuntime runtime,
    PredictionLogAndShadowRunner log,
    ServingOptions options,
    ILogger<PredictHandler> logger
)
{
    private static readonly JsonEncodedText ModelProp = JsonEncodedText.Encode("model");
    private static readonly JsonEncodedText VersionProp = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText PredictionsProp = JsonEncodedText.Encode("predictions");
    private static readonly JsonEncodedText PredictionIdsProp = JsonEncodedText.Encode("predictionIds");

    /// <summary>Header carrying the prediction id when the request had a single row.</summary>
    public const string PredictionIdHeader = "x-mlops-prediction-id";
    private readonly ServingMetrics _metrics = runtime.Metrics;
    private readonly bool _logging = options.PredictionLogEnabled;
    private readonly bool _ids = options.PredictionIdsEnabled;

    public async Task HandleAsync(HttpContext context, string model)
    {
        long start = Stopwatch.GetTimestamp();
        _metrics.Requests.Increment();
        var ct = context.RequestAborted;
        byte[]? body = null;
        int length = 0;
        LoadedVersion? answered = null;
        try
        {
            if (!RegistryNames.IsValid(model))
                throw UnknownModel(model);
            var router = await runtime.GetRouterAsync(model, ct).ConfigureAwait(false) ?? throw UnknownModel(model);

            (body, length) = await ReadBodyAsync(context, ct).ConfigureAwait(false);
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(body.AsMemory(0, length));
            }
            catch (JsonException e)
            {
                throw new ServingException(
                    "serving.malformed_json",
                    $"The request body is not valid JSON: {e.Message}"
                );
            }
            using (doc)
            {
                var root = doc.RootElement;
                InputValidator.CheckRootNames(root, options.RequestKeyField);
                if (
                    root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("rows", out var rowsElement)
                    || rowsElement.ValueKind != JsonValueKind.Array
                )
                    throw new ServingException(
                        "serving.missing_rows",
                        "The body must be an object with a \"rows\" array: {\"rows\":[{\"column\": value, ...}]}."
                    );
                int count = rowsElement.GetArrayLength();
                if (count == 0)
                    throw new ServingException("serving.empty_batch", "\"rows\" is empty; send at least one row.");
                if (count > options.MaxBatchRows)
                    throw new ServingException(
                        "serving.batch_too_large",
                        $"\"rows\" has {count} rows; at most {options.MaxBatchRows} are accepted per request.",
                        413
                    );

                var explain = ExplainRequest.Parse(context.Request.Query, root);
                string? requestKey = RequestKey(context, root);
                var snapshot = router.Snapshot!;
                var target = await ChooseAsync(router, snapshot, context.Request.Query, requestKey, ct)
                    .ConfigureAwait(false);
                answered = target;
                var signature = target.Servable.Signature;

                var rows = ArrayPool<JsonElement>.Shared.Rent(count);
                try
                {
                    int i = 0;
                    foreach (var row in rowsElement.EnumerateArray())
                        rows[i++] = row;
                    var span = rows.AsSpan(0, count);
                    var errors = InputValidator.Validate(
                        signature,
                        span,
                        options.AllowNullValues,
                        options.MaxReportedErrors
                    );
                    if (errors is not null)
                    {
                        answered = null; // the client's mistake says nothing about the version's health
                        throw new ServingException(
                            "serving.invalid_input",
                            $"{errors.Count}{(errors.Count >= options.MaxReportedErrors ? "+" : "")} input problem(s) for {model} v{target.Version}: "
                                + string.Join("; ", errors.Take(10).Select(e => e.Message))
                                + (errors.Count > 10 ? "; …" : ""),
                            400,
                            errors
                        );
                    }

                    // Ids are fixed before predicting so the response and the log line carry the same ones.
                    var at = DateTimeOffset.UtcNow;
                    var ids = _ids ? PredictionIdsFor(root, count, at) : [];
                    var predictions = new Prediction[count];
                    try
                    {
                        target.Servable.Predict(span, predictions);
                    }
                    catch (Exception e) when (e is not MlopsException)
                    {
                        throw new ServingException(
                            "serving.model_failed",
                            $"{model} v{target.Version} failed to predict: {e.Message}",
                            500,
                            inner: e
                        );
                    }

                    var explanations = explain.Enabled ? Explain(target, model, span) : null;

                    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    target.Stats.Record(ms, failed: false);
                    bool sample =
                        _logging
                        && (
                            options.PredictionLogSampleRate >= 1
                            || Random.Shared.NextDouble() < options.PredictionLogSampleRate
                        );
                    if (options.PredictionLogFlushBeforeAnswer && sample)
                    {
                        // Durable log: the line is in storage before the client sees the answer (a crash loses nothing
                        // answered).
                        log.Write(
                            model,
                            at,
                            target.Version,
                            shadow: false,
                            requestKey,
                            ms,
                            ids,
                            System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(rowsElement),
                            signature,
                            predictions,
                            error: null
                        );
                        await log.FlushAsync(ct).ConfigureAwait(false);
                    }
                    await WriteResponseAsync(
                            context,
                            model,
                            target.Version,
                            signature,
                            predictions,
                            ids,
                            explanations,
                            explain.Top
                        )
                        .ConfigureAwait(false);
                    _metrics.Succeeded.Increment();

                    var shadows = snapshot.Shadows;
                    bool logAfter = sample && !options.PredictionLogFlushBeforeAnswer;
                    if (logAfter || shadows.Length > 0)
                    {
                        var rawRows = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(rowsElement);
                        if (logAfter)
                            log.Write(
                                model,
                                at,
                                target.Version,
                                shadow: false,
                                requestKey,
                                ms,
                                ids,
                                rawRows,
                                signature,
                                predictions,
                                error: null
                            );
                        if (shadows.Length > 0)
                            log.EnqueueShadow(
                                new ShadowWork
                                {
                                    Model = model,
                                    RequestKey = requestKey,
                                    At = at,
                                    Ids = ids,
                                    Rows = rawRows.ToArray(),
                                    Shadows = shadows,
                                    Log = sample,
                                }
                            );
                    }
                }
                finally
                {
                    ArrayPool<JsonElement>.Shared.Return(rows, clearArray: true);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Client went away: nothing to answer.
        }
        catch (MlopsException e)
        {
            if (e.Status >= 500)
            {
                _metrics.ServerErrors.Increment();
                answered?.Stats.Record(Stopwatch.GetElapsedTime(start).TotalMilliseconds, failed: true);
                logger.LogError(e.InnerException ?? e, "Prediction for {Model} failed: {Message}", model, e.Message);
            }
            else
            {
                _metrics.BadRequests.Increment();
            }
            await WriteErrorAsync(context, e).ConfigureAwait(false);
        }
        catch (StorageUnavailableException e)
        {
            _metrics.ServerErrors.Increment();
            logger.LogWarning(e, "Storage unavailable while serving {Model}.", model);
            await WriteErrorAsync(
                    context,
                    new ServingException(
                        "serving.storage_unavailable",
                        "Model storage is unavailable; retry shortly.",
                        503
                    )
                )
                .ConfigureAwait(false);
        }
        finally
        {
            if (body is not null)
                ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>
    /// The request's own <c>"ids"</c> (strings parallel to <c>rows</c>, 1–128 characters each) or new time-ordered ids
    /// (<see cref="PredictionIds"/>): what feedback labels refer to later.
    /// </summary>
    private static string[] PredictionIdsFor(JsonElement root, int count, DateTimeOffset at)
    {
        var ids = new string[count];
        if (!root.TryGetProperty("ids", out var given) || given.ValueKind == JsonValueKind.Null)
        {
            for (int i = 0; i < count; i++)
                ids[i] = PredictionIds.New(at);
            return ids;
        }
        if (given.ValueKind != JsonValueKind.Array || given.GetArrayLength() != count)
            throw new ServingException(
                "serving.invalid_ids",
                $"\"ids\" must be an array of {count} strings, one per row."
            );
        int k = 0;
        foreach (var id in given.EnumerateArray())
        {
            string? s = id.ValueKind == JsonValueKind.String && InputValidator.IsValidText(id) ? id.GetString() : null;
            if (string.IsNullOrEmpty(s) || s.Length > PredictionIds.MaxClientLength)
                throw new ServingException(
                    "serving.invalid_ids",
                    $"\"ids\"[{k}] must be a non-empty string of at most {PredictionIds.MaxClientLength} characters."
                );
            // Ids are echoed in a response header and in logs: printable ASCII only, refused here rather than failing
            // the answer after the version's stats already counted it a success.
            if (!PredictionIds.IsPrintableAscii(s))
                throw new ServingException(
                    "serving.invalid_ids",
                    $"\"ids\"[{k}] ({JsonSerializer.Serialize(s.Length > 40 ? s[..40] + "…" : s)}) may hold only printable ASCII characters "
                        + "(no control characters, no non-ASCII letters, no leading or trailing space)."
                );
            ids[k++] = s;
        }
        return ids;
    }

    /// <summary>Explanations of the (validated, predicted) rows by the version that answered; a 422 when it cannot
    /// explain.</summary>
    private static Explanation?[] Explain(LoadedVersion target, string model, ReadOnlySpan<JsonElement> rows)
    {
        if (target.Servable is not IExplainableModel explainable || !explainable.CanExplain)
            throw new ServingException(
                "serving.explain_unavailable",
                $"{model} v{target.Version} cannot explain its predictions (a tree model saved before explanations existed, or a model kind without them); "
                    + "retrain it, or predict without explain.",
                422
            );
        var explanations = new Explanation?[rows.Length];
        try
        {
            explainable.Explain(rows, explanations);
        }
        catch (Exception e) when (e is not Mlops.Core.Errors.MlopsException)
        {
            throw new ServingException(
                "serving.model_failed",
                $"{model} v{target.Version} failed to explain: {e.Message}",
                500,
                inner: e
            );
        }
        return explanations;
    }

    private static ServingException UnknownModel(string model) =>
        new("serving.unknown_model", $"Model '{model}' is not registered.", 404);

    private string? RequestKey(HttpContext context, JsonElement root)
    {
        if (
            context.Request.Headers.TryGetValue(options.RequestKeyHeader, out var header)
            && header.Count > 0
            && !string.IsNullOrEmpty(header[0])
        )
            return header[0];
        if (root.TryGetProperty(options.RequestKeyField, out var field))
        {
            if (field.ValueKind == JsonValueKind.String)
                return InputValidator.IsValidText(field)
                    ? field.GetString()
                    : throw new ServingException(
                        "serving.invalid_request_key",
                        $"\"{options.RequestKeyField}\" is not valid UTF-8 text."
                    );
            if (field.ValueKind == JsonValueKind.Number)
                return field.GetRawText();
        }
        return null;
    }

    private async ValueTask<LoadedVersion> ChooseAsync(
        ModelRouter router,
        RoutingSnapshot snapshot,
        IQueryCollection query,
        string? key,
        CancellationToken ct
    )
    {
        if (query.Count > 0)
        {
            if (query.TryGetValue("version", out var vs) && vs.Count > 0 && !string.IsNullOrEmpty(vs[0]))
            {
                if (!int.TryParse(vs[0], out int v) || v < 1)
                    throw new ServingException(
                        "serving.invalid_version",
                        $"?version= must be a positive integer, got '{vs[0]}'."
                    );
                return await Explicit(v).ConfigureAwait(false);
            }
            if (query.TryGetValue("alias", out var al) && al.Count > 0 && !string.IsNullOrEmpty(al[0]))
            {
                if (!snapshot.State.Aliases.TryGetValue(al[0]!, out int v))
                    throw new ServingException(
                        "serving.unknown_alias",
                        $"Model '{router.Model}' has no alias '{al[0]}' (aliases: {string.Join(", ", snapshot.State.Aliases.Keys.Order())}).",
                        404
                    );
                return await Explicit(v).ConfigureAwait(false);
            }
        }
        if (snapshot.RouteModels.Length == 0)
            throw new ServingException(
                "serving.nothing_to_serve",
                $"Model '{router.Model}' has no production version and no traffic routes; promote a version first.",
                404
            );
        if (snapshot.RouteModels.Length == 1)
            return snapshot.RouteModels[0];
        int bucket = key is null ? Random.Shared.Next(100) : ServingRuntime.Bucket(key);
        return snapshot.Route(bucket)!;

        async ValueTask<LoadedVersion> Explicit(int v)
        {
            if (snapshot.Loaded.TryGetValue(v, out var lv))
                return lv;
            return await runtime.GetVersionAsync(router, v, ct).ConfigureAwait(false)
                ?? throw new ServingException(
                    "serving.unknown_version",
                    $"Model '{router.Model}' has no servable version {v} (missing or archived).",
                    404
                );
        }
    }

    private async ValueTask<(byte[] Buffer, int Length)> ReadBodyAsync(HttpContext context, CancellationToken ct)
    {
        long limit = options.MaxBodyBytes;
        if (context.Request.ContentLength is long declared && declared > limit)
            throw TooLarge(limit);
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (
            sizeFeature is { IsReadOnly: false }
            && (sizeFeature.MaxRequestBodySize is null || sizeFeature.MaxRequestBodySize > limit + 1)
        )
            sizeFeature.MaxRequestBodySize = limit + 1;

        PipeReader reader = context.Request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(ct).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw TooLarge(limit);
            }
            var buffer = result.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw TooLarge(limit);
            }
            if (result.IsCompleted)
            {
                int length = (int)buffer.Length;
                byte[] array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                buffer.CopyTo(array);
                reader.AdvanceTo(buffer.End);
                return (array, length);
            }
            reader.AdvanceTo(buffer.Start, buffer.End); // keep everything, wait for more
        }
    }

    private static ServingException TooLarge(long limit) =>
        new("serving.body_too_large", $"The request body exceeds the limit of {limit} bytes; split the batch.", 413);

    // One buffer and writer per thread, reused: the JSON is built and copied into Kestrel's pipe synchronously, so no
    // other request can touch them in between (there is no await before the copy).
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static Task WriteResponseAsync(
        HttpContext context,
        string model,
        int version,
        ModelSignature signature,
        Prediction[] predictions,
        string[] ids,
        Explanation?[]? explanations = null,
        int explainTop = 0
    )
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var w = t_writer ??= new Utf8JsonWriter(buffer);
        w.Reset(buffer);
        w.WriteStartObject();
        w.WriteString(ModelProp, model);
        w.WriteNumber(VersionProp, version);
        w.WritePropertyName(PredictionsProp);
        PredictionJson.WritePredictions(w, signature, predictions, explanations, explainTop);
        if (ids.Length > 0)
            PredictionJson.WriteIds(w, PredictionIdsProp, ids);
        w.WriteEndObject();
        w.Flush();
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        if (ids.Length == 1)
            response.Headers[PredictionIdHeader] = ids[0];
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.XContentTypeOptions = "nosniff"; // as every app answer (issue 19): JSON is never sniffed into a page
        response.ContentLength = buffer.WrittenCount;
        var pipe = response.BodyWriter;
        pipe.Write(buffer.WrittenSpan);
        // Large batch answers should not pin a big per-thread buffer forever.
        if (buffer.Capacity > 1 << 20)
            t_buffer = null;
        var flush = pipe.FlushAsync(context.RequestAborted);
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask();
    }

    internal static async Task WriteErrorAsync(HttpContext context, MlopsException e)
    {
        if (context.Response.HasStarted)
            return;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("code", e.Code);
            w.WriteString("message", e.Message);
            if (e is ServingException { Details.Count: > 0 } se)
            {
                w.WriteStartArray("details");
                foreach (var d in se.Details)
                {
                    w.WriteStartObject();
                    w.WriteNumber("row", d.Row);
                    if (d.Column is not null)
                        w.WriteString("column", d.Column);
                    w.WriteString("problem", d.Problem);
                    w.WriteString("message", d.Message);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        context.Response.StatusCode = e.Status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
