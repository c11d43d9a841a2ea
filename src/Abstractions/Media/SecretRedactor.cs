using System.Text.RegularExpressions;

namespace LiveStream.Media;

/// <summary>Removes secrets (the key part of RTMP URLs, ingest paths) from text before it is logged or shown.</summary>
public static partial class SecretRedactor
{
    /// <summary>The text that replaces a secret.</summary>
    public const string Mask = "[redacted]";

    /// <summary><paramref name="text"/> with every RTMP(S) URL's path after the application and every ingest key masked.</summary>
    public static string Redact(string text)
    {
        // Everything after the application segment is the key (Mux, YouTube, Twitch); a URL with no application
        // segment, or a query string, is masked whole after the host.
        text = RtmpUrl().Replace(text, m =>
        {
            var rest = m.Groups["rest"].Value;
            var slash = rest.IndexOfAny(['/', '?']);
            return slash > 0 && rest[slash] == '/'
                ? m.Groups["prefix"].Value + rest[..(slash + 1)] + Mask
                : m.Groups["prefix"].Value + Mask;
        });
        return IngestPath().Replace(text, m => m.Groups["prefix"].Value + Mask);
    }

    /// <summary>An ingest path with its key masked; other paths unchanged.</summary>
    public static string RedactPath(string path) => IngestPath().Replace(path, m => m.Groups["prefix"].Value + Mask);

    [GeneratedRegex(@"(?<prefix>rtmps?://[^/\s'""]+/)(?<rest>[^\s'""]+?)(?=:?(?:[\s'""]|$))", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RtmpUrl();

    [GeneratedRegex(@"(?<prefix>/stream/live/)[^/?\s'""]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex IngestPath();
}
