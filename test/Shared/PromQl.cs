using System.Text.Json;
using System.Text.RegularExpressions;

namespace LiveStream.Testing;

/// <summary>Reads the metric names a Grafana dashboard's PromQL queries and the names a Prometheus scrape holds.</summary>
public static partial class PromQl
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal) { "and", "or", "unless", "bool", "offset", "inf", "nan" };

    /// <summary>Every PromQL expression of a dashboard (its panels, those in rows too).</summary>
    public static IReadOnlyList<string> DashboardExpressions(JsonElement dashboard) =>
        [.. Panels(dashboard.GetProperty("panels"))
            .SelectMany(p => p.TryGetProperty("targets", out var targets) ? targets.EnumerateArray() : [])
            .Where(t => t.TryGetProperty("expr", out _))
            .Select(t => t.GetProperty("expr").GetString()!)];

    /// <summary>
    /// The metric names an expression selects: identifiers left once strings, label matchers, ranges and grouping
    /// clauses are removed, that are neither functions (followed by a parenthesis) nor keywords.
    /// </summary>
    public static IReadOnlySet<string> MetricNames(string expression)
    {
        var text = StringLiteral().Replace(expression, " ");
        text = LabelMatchers().Replace(text, " ");
        text = Ranges().Replace(text, " ");
        text = Grouping().Replace(text, " ");
        return Identifier().Matches(text)
            .Where(m => !m.Groups["call"].Success && !Keywords.Contains(m.Groups["name"].Value))
            .Select(m => m.Groups["name"].Value)
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The names of the samples in a Prometheus text exposition (<c>name{labels} value</c>).</summary>
    public static IReadOnlySet<string> ScrapedNames(string exposition) =>
        exposition.Split('\n')
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l[..l.IndexOfAny(['{', ' '])])
            .ToHashSet(StringComparer.Ordinal);

    private static IEnumerable<JsonElement> Panels(JsonElement panels)
    {
        foreach (var panel in panels.EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out var nested))
            {
                foreach (var inner in Panels(nested))
                {
                    yield return inner;
                }
            }
        }
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w$.])(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();
}
