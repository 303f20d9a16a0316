using System.Globalization;
using System.Net;
using System.Text;

namespace Mlops.Monitoring.Reports;

/// <summary>
/// Renders a <see cref="MonitorReport"/> as one self-contained HTML page: verdicts, drift table, quality, performance
/// and one inline SVG bar chart per column (reference vs window). No scripts, styles or fonts from elsewhere, so it
/// opens from blob storage or a mail attachment as it is.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The page for <paramref name="report"/>.</summary>
    public static string Render(MonitorReport report)
    {
        var h = new StringBuilder(16 * 1024);
        h.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Monitoring · ")
            .Append(E(report.Model))
            .Append(" · ")
            .Append(E(report.RunId))
            .Append("</title>")
            .Append(
                "<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
            )
            .Append(
                ".breach{background:#fde2e2}.ok{background:#e6f4ea}.insufficient_data{background:#fff6d6}figure{display:inline-block;margin:6px}figcaption{font-size:12px}</style></head><body>"
            );
        h.Append("<h1>").Append(E(report.Model)).Append(" — monitor run ").Append(E(report.RunId)).Append("</h1>");
        var w = report.Window;
        h.Append("<p>Window ")
            .Append(w.From.ToString("u", Inv))
            .Append(" – ")
            .Append(w.To.ToString("u", Inv))
            .Append(": ")
            .Append(w.Rows.ToString("N0", Inv))
            .Append(" predictions in ")
            .Append(w.Requests.ToString("N0", Inv))
            .Append(" requests; baseline (")
            .Append(E(report.Baseline?.Kind ?? "serving"))
            .Append("): ")
            .Append(E(report.Baseline?.Description ?? $"v{report.ReferenceVersion} training data"))
            .Append(". Computed in ")
            .Append(report.Seconds.ToString("0.00", Inv))
            .Append(" s.</p>");

        h.Append(
            "<h2>Verdicts</h2><table><tr><th>signal</th><th>status</th><th>value</th><th>threshold</th><th>detail</th></tr>"
        );
        foreach (var v in report.Verdicts)
            h.Append("<tr class=\"")
                .Append(v.Status)
                .Append("\"><td>")
                .Append(v.Signal)
                .Append("</td><td>")
                .Append(v.Status)
                .Append("</td><td>")
                .Append(N(v.Value))
                .Append("</td><td>")
                .Append(N(v.Threshold))
                .Append("</td><td>")
                .Append(E(v.Message))
                .Append("</td></tr>");
        h.Append("</table>");
        if (report.Decision is { } d)
            h.Append("<p><b>Retraining:</b> ")
                .Append(d.Retrain ? "started" : "not started")
                .Append(" — ")
                .Append(E(d.Reason))
                .Append("</p>");

        h.Append(
            "<h2>Data drift</h2><table><tr><th>feature</th><th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>drifted</th><th>reference n</th><th>window n</th></tr>"
        );
        foreach (var f in report.DataDrift.Features)
            h.Append("<tr class=\"")
                .Append(
                    f.Drifted ? "breach"
                    : f.InsufficientData ? "insufficient_data"
                    : "ok"
                )
                .Append("\"><td>")
                .Append(E(f.Column))
                .Append("</td><td>")
                .Append(f.Method.ToString().ToLowerInvariant())
                .Append("</td><td>")
                .Append(N(f.Statistic))
                .Append("</td><td>")
                .Append(N(f.PValue))
                .Append("</td><td>")
                .Append(N(f.Threshold))
                .Append("</td><td>")
                .Append(f.Drifted ? "yes" : "no")
                .Append("</td><td>")
                .Append(f.ReferenceCount)
                .Append("</td><td>")
                .Append(f.CurrentCount)
                .Append("</td></tr>");
        h.Append("</table>");

        h.Append(
            "<h2>Data quality</h2><table><tr><th>feature</th><th>missing</th><th>missing at training</th><th>type errors</th><th>out of range</th><th>unseen categories</th><th>problems</th></tr>"
        );
        foreach (var q in report.DataQuality.Features)
            h.Append("<tr class=\"")
                .Append(q.Breached ? "breach" : "ok")
                .Append("\"><td>")
                .Append(E(q.Column))
                .Append("</td><td>")
                .Append(P(q.MissingRate))
                .Append("</td><td>")
                .Append(P(q.ReferenceMissingRate))
                .Append("</td><td>")
                .Append(P(q.TypeErrorRate))
                .Append("</td><td>")
                .Append(P(q.OutOfRangeRate))
                .Append("</td><td>")
                .Append(q.UnseenCategoryRate is { } u ? P(u) : "–")
                .Append("</td><td>")
                .Append(E(string.Join("; ", q.Problems)))
                .Append("</td></tr>");
        h.Append("</table>");

        h.Append("<h2>Performance</h2><p>")
            .Append(report.Performance.Labels)
            .Append(" joined labels (minimum ")
            .Append(report.Performance.MinLabels)
            .Append("); status ")
            .Append(report.Performance.Status)
            .Append(".</p>")
            .Append(MetricTable(report));

        if (report.AttributionDrift is { } a)
        {
            // Share of total attribution (mean |SHAP|) per column: at registration (held-out rows) vs this window's
            // sample.
            h.Append("<h2>Attribution drift</h2><p>")
                .Append(E(a.Message))
                .Append(" Status ")
                .Append(E(a.Status))
                .Append(".</p>")
                .Append(
                    "<table><tr><th>column</th><th>share at registration</th><th>share in window</th><th>change</th></tr>"
                );
            foreach (var c in a.Columns)
                h.Append("<tr><td>")
                    .Append(E(c.Column))
                    .Append("</td><td>")
                    .Append(P(c.ReferenceShare))
                    .Append("</td><td>")
                    .Append(P(c.CurrentShare))
                    .Append("</td><td>")
                    .Append(P(c.Change))
                    .Append("</td></tr>");
            h.Append("</table>");
        }

        h.Append("<h2>Distributions</h2><p>Grey: baseline; blue: window.</p>");
        foreach (var dist in report.Distributions)
            h.Append(
                Chart(dist, report.DataDrift.Features.FirstOrDefault(f => f.Column == dist.Column)?.Drifted == true)
            );
        h.Append("</body></html>");
        return h.ToString();
    }

    private static string MetricTable(MonitorReport report)
    {
        var names = report
            .Performance.Metrics.Keys.Union(report.EstimatedPerformance?.Metrics.Keys ?? [])
            .Union(report.Performance.ReferenceMetrics.Keys)
            .Order()
            .ToList();
        var t = new StringBuilder(
            "<table><tr><th>metric</th><th>at training</th><th>realized</th><th>estimated (CBPE)</th></tr>"
        );
        foreach (var n in names)
            t.Append("<tr><td>")
                .Append(E(n))
                .Append("</td><td>")
                .Append(N(Get(report.Performance.ReferenceMetrics, n)))
                .Append("</td><td>")
                .Append(N(Get(report.Performance.Metrics, n)))
                .Append("</td><td>")
                .Append(N(report.EstimatedPerformance is { } e ? Get(e.Metrics, n) : null))
                .Append("</td></tr>");
        return t.Append("</table>").ToString();
    }

    private static string Chart(FeatureDistribution d, bool drifted)
    {
        const int width = 320,
            height = 120,
            pad = 14;
        int bins = d.Bins.Count;
        if (bins == 0)
            return "";
        double max = Math.Max(d.Reference.DefaultIfEmpty(0).Max(), d.Current.DefaultIfEmpty(0).Max());
        if (max <= 0)
            max = 1;
        double slot = (double)(width - 2 * pad) / bins,
            bar = slot / 2 - 1;
        var s = new StringBuilder();
        s.Append("<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
            .Append(width)
            .Append("\" height=\"")
            .Append(height + 16)
            .Append("\" role=\"img\" aria-label=\"")
            .Append(E(d.Column))
            .Append(" distribution\">");
        s.Append("<line x1=\"")
            .Append(pad)
            .Append("\" y1=\"")
            .Append(height)
            .Append("\" x2=\"")
            .Append(width - pad)
            .Append("\" y2=\"")
            .Append(height)
            .Append("\" stroke=\"#999\"/>");
        for (int i = 0; i < bins; i++)
        {
            Bar(
                s,
                pad + i * slot,
                d.Reference[i] / max * (height - pad),
                bar,
                height,
                "#bbb",
                $"{d.Bins[i]}: reference {d.Reference[i]:P1}"
            );
            Bar(
                s,
                pad + i * slot + bar + 1,
                d.Current[i] / max * (height - pad),
                bar,
                height,
                "#3b7dd8",
                $"{d.Bins[i]}: window {d.Current[i]:P1}"
            );
        }
        s.Append("<text x=\"")
            .Append(pad)
            .Append("\" y=\"")
            .Append(height + 13)
            .Append("\" font-size=\"10\">")
            .Append(E(d.Bins[0]))
            .Append("</text>");
        s.Append("<text x=\"")
            .Append(width - pad)
            .Append("\" y=\"")
            .Append(height + 13)
            .Append("\" font-size=\"10\" text-anchor=\"end\">")
            .Append(E(d.Bins[^1]))
            .Append("</text>");
        s.Append("</svg><figcaption>")
            .Append(E(d.Column))
            .Append(drifted ? " — <b>drifted</b>" : "")
            .Append("</figcaption></figure>");
        return s.ToString();
    }

    private static void Bar(StringBuilder s, double x, double h, double w, int baseline, string color, string title) =>
        s.Append("<rect x=\"")
            .Append(x.ToString("0.#", Inv))
            .Append("\" y=\"")
            .Append((baseline - h).ToString("0.#", Inv))
            .Append("\" width=\"")
            .Append(Math.Max(w, 1).ToString("0.#", Inv))
            .Append("\" height=\"")
            .Append(h.ToString("0.#", Inv))
            .Append("\" fill=\"")
            .Append(color)
            .Append("\"><title>")
            .Append(E(title))
            .Append("</title></rect>");

    private static double? Get(IReadOnlyDictionary<string, double> m, string k) =>
        m.TryGetValue(k, out var v) ? v : null;

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string N(double? v) => v is { } x && !double.IsNaN(x) ? x.ToString("G4", Inv) : "–";

    private static string P(double v) => v.ToString("P1", Inv);
}
