using System.Collections.Frozen;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;

namespace Mlops.Functions.Handlers;

/// <summary>
/// The dashboard's static files (index.html and content-hashed assets, bundled from Dashboard/ at build time and
/// embedded in this assembly), served anonymously at <c>/</c> by the catch-all function
/// (<see cref="Functions.Http.DashboardFunctions"/>): they hold no data — every data call the page makes sends the key.
/// A path under <c>api/</c> never becomes a page: the route refuses it, and should it arrive anyway it is a JSON 404.
/// </summary>
public static class DashboardFiles
{
    // No inline script anywhere (the bundle is a module file); ECharts sets inline styles, hence style-src
    // 'unsafe-inline'.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    /// <summary>An embedded file, with its gzip form for clients that accept it.</summary>
    private sealed record Asset(byte[] Content, byte[] Gzipped, string ContentType);

    /// <summary>The file names served (index.html and assets/…), e.g. for tests.</summary>
    public static IEnumerable<string> Names => Assets.Value.Keys;

    /// <summary>Answers one dashboard path (empty: the page).</summary>
    public static Task ServeAsync(HttpContext http, string? path)
    {
        path = (path ?? "").Trim('/');
        var response = http.Response;
        response.Headers.XContentTypeOptions = "nosniff";
        if (
            path.Equals("api", StringComparison.OrdinalIgnoreCase)
            || path.StartsWith("api/", StringComparison.OrdinalIgnoreCase)
        )
        {
            response.StatusCode = 404;
            return response.WriteAsJsonAsync(
                new { error = new { code = "http.not_found", message = $"No API route /{path}." } }
            );
        }
        if (path.Length == 0)
            path = "index.html";
        if (!Assets.Value.TryGetValue(path, out var asset))
        {
            response.StatusCode = 404;
            response.ContentType = "text/plain; charset=utf-8";
            return response.WriteAsync($"Not found: /{path}. The dashboard is at /.");
        }
        bool isPage = path == "index.html";
        // Assets have content-hashed names, so they never change under a name; the page names the current ones.
        response.Headers.CacheControl = isPage ? "no-cache" : "public, max-age=31536000, immutable";
        if (isPage)
        {
            response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            response.Headers["Referrer-Policy"] = "no-referrer";
        }
        response.ContentType = asset.ContentType;
        response.Headers.Vary = "Accept-Encoding";
        byte[] body = asset.Content;
        if (http.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            response.Headers.ContentEncoding = "gzip";
            body = asset.Gzipped;
        }
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(http.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        const string prefix = "dashboard/";
        var assembly = typeof(DashboardFiles).Assembly;
        var files = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (
            string resource in assembly
                .GetManifestResourceNames()
                .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
        )
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            var content = new MemoryStream();
            stream.CopyTo(content);
            var gzipped = new MemoryStream();
            using (var gzip = new GZipStream(gzipped, CompressionLevel.SmallestSize))
                gzip.Write(content.GetBuffer(), 0, (int)content.Length);
            string name = resource[prefix.Length..].Replace('\\', '/');
            files[name] = new Asset(content.ToArray(), gzipped.ToArray(), ContentTypeOf(name));
        }
        return files.ToFrozenDictionary();
    }

    private static string ContentTypeOf(string name) =>
        Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            ".json" => "application/json",
            _ => "application/octet-stream",
        };
}
