using System.Net;
using System.Text;
using System.Text.Json;
using Mlops.Testing;
using Xunit;

namespace Mlops.Cli.Tests;

/// <summary>
/// <c>mlops models approve|reject</c> send the decision through the app's API (the path the dashboard uses, which
/// raises the run's approval event), never into the registry: a stand-in app records what it receives.
/// </summary>
public sealed class ApprovalCommandTests : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _url;
    private readonly List<(string Method, string Path, string? Key, string Body)> _received = [];
    private (int Status, string Body) _answer = (
        202,
        """{"model":"churn","version":3,"decision":"approved","instanceId":"train-churn-run-x"}"""
    );

    public ApprovalCommandTests()
    {
        int port = AzuriteInstance.FreePort();
        _url = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(_url + "/");
        _listener.Start();
        _ = ServeAsync();
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            string body = await reader.ReadToEndAsync();
            lock (_received)
                _received.Add(
                    (
                        context.Request.HttpMethod,
                        context.Request.Url!.AbsolutePath,
                        context.Request.Headers["x-functions-key"],
                        body
                    )
                );
            context.Response.StatusCode = _answer.Status;
            context.Response.ContentType = "application/json";
            byte[] bytes = Encoding.UTF8.GetBytes(_answer.Body);
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    public void Dispose() => _listener.Close();

    [Fact]
    public void Approve_PostsTheDecisionToTheApiWithTheMasterKey()
    {
        var (code, stdout, stderr) = CliTests.Run(
            "models",
            "approve",
            "churn",
            "3",
            "--reason",
            "looks good",
            "--url",
            _url,
            "--key",
            "master-1"
        );

        Assert.True(code == 0, stderr);
        var (method, path, key, body) = Assert.Single(_received);
        Assert.Equal(("POST", "/api/models/churn/versions/3/approve", "master-1"), (method, path, key));
        Assert.Equal("looks good", JsonDocument.Parse(body).RootElement.GetProperty("comment").GetString());
        Assert.Contains("train-churn-run-x", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Reject_PostsToTheRejectRoute()
    {
        var (code, _, stderr) = CliTests.Run(
            "models",
            "reject",
            "churn",
            "3",
            "--url",
            _url + "/",
            "--key",
            "master-1"
        );

        Assert.True(code == 0, stderr);
        Assert.Equal("/api/models/churn/versions/3/reject", Assert.Single(_received).Path);
    }

    [Fact]
    public void Approve_NothingWaiting_ApiErrorShownExitCode1()
    {
        _answer = (
            404,
            """{"error":{"code":"approval.not_pending","message":"Version 3 of 'churn' is not waiting for approval."}}"""
        );

        var (code, _, stderr) = CliTests.Run("models", "approve", "churn", "3", "--url", _url, "--key", "master-1");

        Assert.Equal(1, code);
        Assert.Contains("approval.not_pending", stderr, StringComparison.Ordinal);
        Assert.Contains("not waiting for approval", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Approve_RunNoLongerWaiting_ExitCode2()
    {
        _answer = (
            409,
            """{"error":{"code":"approval.closed","message":"The run is Completed; nothing to decide."}}"""
        );

        var (code, _, stderr) = CliTests.Run("models", "approve", "churn", "3", "--url", _url, "--key", "master-1");

        Assert.Equal(2, code);
        Assert.Contains("approval.closed", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Approve_NoKey_RefusedBeforeAnyRequest()
    {
        var (code, _, stderr) = CliTests.Run("models", "approve", "churn", "3", "--url", _url, "--key", "");

        Assert.Equal(2, code);
        Assert.Contains("master key", stderr, StringComparison.Ordinal);
        Assert.Empty(_received);
    }

    [Fact]
    public void Approve_AppUnreachable_ExitCode3()
    {
        int closed = AzuriteInstance.FreePort();

        var (code, _, stderr) = CliTests.Run(
            "models",
            "approve",
            "churn",
            "3",
            "--url",
            $"http://127.0.0.1:{closed}",
            "--key",
            "k"
        );

        Assert.Equal(3, code);
        Assert.Contains("Cannot reach", stderr, StringComparison.Ordinal);
    }
}
