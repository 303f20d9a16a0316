using System.Net;

namespace Mlops.Testing;

/// <summary>A local webhook endpoint on a free port (http://localhost:PORT/) that records every POSTed body and answers
/// 200.</summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<string> _bodies = [];

    public WebhookReceiver()
    {
        Port = AzuriteInstance.FreePort();
        _listener.Prefixes.Add($"http://localhost:{Port}/");
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Url(string path = "hook") => $"http://localhost:{Port}/{path}";

    /// <summary>The status every request is answered with (200 by default; set a 5xx to play a receiver that is
    /// down).</summary>
    public int AnswerStatus { get; set; } = 200;

    /// <summary>The bodies received so far, in arrival order.</summary>
    public IReadOnlyList<string> Bodies
    {
        get
        {
            lock (_bodies)
                return _bodies.ToList();
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception)
            {
                return;
            } // stopped
            using (var reader = new StreamReader(ctx.Request.InputStream))
            {
                string body = await reader.ReadToEndAsync();
                lock (_bodies)
                    _bodies.Add(body);
            }
            ctx.Response.StatusCode = AnswerStatus;
            ctx.Response.Close();
        }
    }

    public void Dispose() => _listener.Stop();
}
