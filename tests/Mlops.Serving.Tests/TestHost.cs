using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Functions.Functions.Http;
using Mlops.Functions.Handlers;
using Mlops.Functions.Hosting;
using Mlops.Registry;
using Mlops.Storage.Azure;
using Mlops.Testing;

namespace Mlops.Serving.Tests;

/// <summary>
/// A real Kestrel host on 127.0.0.1 serving the app's serving and registry functions (<see cref="ServingFunctions"/>,
/// <see cref="ModelFunctions"/>, and the OpenAPI document) over Azurite, with the app's error mapping: the handlers and
/// the predict hot path in one process, without a Functions host (key levels are the end-to-end tests' business).
/// </summary>
internal sealed class ServingHost : IAsyncDisposable
{
    private ServingHost(WebApplication app, string baseUrl, ConcurrentQueue<MlopsException> errors)
    {
        ErrorsWritten = errors;
        App = app;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }
    public string BaseUrl { get; }

    /// <summary>Typed errors that reached the error middleware (the host's one writer of error bodies).</summary>
    public ConcurrentQueue<MlopsException> ErrorsWritten { get; }
    public HttpClient Client { get; }
    public ModelRegistry Registry => App.Services.GetRequiredService<ModelRegistry>();
    public ServingRuntime Runtime => App.Services.GetRequiredService<ServingRuntime>();
    public PredictionLogAndShadowRunner Log => App.Services.GetRequiredService<PredictionLogAndShadowRunner>();
    public StorageServices Storage => App.Services.GetRequiredService<StorageServices>();

    public static async Task<ServingHost> StartAsync(string connectionString, Action<ServingOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IModelLoader, TestModelLoader>();
        builder.Services.AddSingleton<RecordingServingEvents>();
        builder.Services.AddSingleton<IServingEvents>(sp => sp.GetRequiredService<RecordingServingEvents>());
        builder.Services.AddSingleton<ModelHandler>();
        builder.Services.AddSingleton<ServingHandler>();
        builder.Services.AddSingleton(new AppSettings());
        builder.Services.AddServing(AzureStorageAccount.Connect(connectionString), o =>
        {
            o.PollInterval = TimeSpan.FromMilliseconds(250);
            o.UnknownModelCacheTime = TimeSpan.Zero;
            o.PredictionLogFlushInterval = TimeSpan.FromMilliseconds(200);
            configure?.Invoke(o);
        });
        var app = builder.Build();
        var errors = new ConcurrentQueue<MlopsException>();
        app.MapFunctions(
            e =>
            {
                if (e is MlopsException typed)
                    errors.Enqueue(typed);
                return ErrorMiddleware.Map(e);
            },
            Mlops.Core.Json.Options,
            typeof(ServingFunctions),
            typeof(ModelFunctions),
            typeof(HostFunctions)
        );
        await app.StartAsync();
        string url = app
            .Services.GetRequiredService<IServer>()
            .Features.Get<IServerAddressesFeature>()!
            .Addresses.First();
        return new ServingHost(app, url, errors);
    }

    public Task<(int Status, JsonElement Body)> PredictAsync(
        string model,
        object body,
        string? query = null,
        string? key = null
    ) => PredictBytesAsync(model, Encoding.UTF8.GetBytes(body as string ?? JsonSerializer.Serialize(body)), query, key);

    /// <summary>Sends raw bytes (which need not be valid UTF-8 or JSON); the answer body is parsed when it is
    /// JSON.</summary>
    public async Task<(int Status, JsonElement Body)> PredictBytesAsync(
        string model,
        byte[] body,
        string? query = null,
        string? key = null
    )
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/models/{model}/predict{query}")
        {
            Content = content,
        };
        if (key is not null)
            request.Headers.Add("x-mlops-request-key", key);
        using var response = await Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>
/// Test models: <c>{"kind":"test","value":N}</c> predicts N for every row (so each response shows which version
/// answered), optionally failing or slow; anything else goes to the real Mlops.ML loader.
/// Inputs: <c>x</c> (number) and <c>color</c> (category).
/// </summary>
internal sealed class TestModelLoader : IModelLoader
{
    private readonly MlModelLoader _ml = new();

    public IServableModel Load(ModelVersion version, byte[] modelFile)
    {
        using var doc = JsonDocument.Parse(modelFile);
        if (!doc.RootElement.TryGetProperty("kind", out var kind) || kind.GetString() != "test")
            return _ml.Load(version, modelFile);
        var root = doc.RootElement;
        return new ConstantModel(
            root.GetProperty("value").GetDouble(),
            root.TryGetProperty("fail", out var f) && f.GetBoolean(),
            root.TryGetProperty("delayMs", out var d) ? d.GetInt32() : 0
        );
    }

    public static byte[] File(double value, bool fail = false, int delayMs = 0) =>
        Encoding.UTF8.GetBytes(
            JsonSerializer.Serialize(
                new
                {
                    kind = "test",
                    value,
                    fail,
                    delayMs,
                }
            )
        );
}

internal sealed class ConstantModel(double value, bool fail, int delayMs) : IServableModel
{
    public ModelSignature Signature { get; } =
        new(
            [new InputColumn("x", FeatureType.Numeric), new InputColumn("color", FeatureType.Categorical)],
            PredictionTask.Regression
        );

    public void Predict(ReadOnlySpan<JsonElement> rows, Span<Prediction> results)
    {
        if (fail)
            throw new InvalidOperationException("simulated model failure");
        if (delayMs > 0)
            Thread.Sleep(delayMs);
        // Read every value as a real model does, so input the validator lets through would throw here.
        foreach (var row in rows)
        foreach (var property in row.EnumerateObject())
            _ = property.Value.ValueKind switch
            {
                JsonValueKind.String => (object?)property.Value.GetString(),
                JsonValueKind.Number => property.Value.GetDouble(),
                _ => null,
            };
        for (int i = 0; i < rows.Length; i++)
            results[i] = Prediction.Regression(value);
    }
}
