using System.Text;

namespace LiveStream.Media;

/// <summary>Removes secrets (RTMP credentials and keys, ingest keys) from text before it is logged or shown.</summary>
public static class SecretRedactor
{
    /// <summary>The text that replaces a secret.</summary>
    public const string Mask = "[redacted]";

    private const string IngestPrefix = "/stream/live/";

    /// <summary>
    /// <paramref name="text"/> with, in every RTMP(S) URL, the credentials (<c>user:pass@</c>) and everything after the
    /// application segment masked, and every ingest path's key masked. A secret runs to the next white space, quotes
    /// included (a key may hold any character), except a closing quote that matches the one the URL or path opened with.
    /// </summary>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.IndexOf("rtmp", StringComparison.OrdinalIgnoreCase) < 0 && text.IndexOf(IngestPrefix, StringComparison.OrdinalIgnoreCase) < 0)
        {
            return text;
        }

        var output = new StringBuilder(text.Length);
        var at = 0;
        while (at < text.Length)
        {
            if (StartsWithAt(text, at, "rtmp://") || StartsWithAt(text, at, "rtmps://"))
            {
                at = RedactRtmp(text, at, output);
            }
            else if (StartsWithAt(text, at, IngestPrefix))
            {
                output.Append(text, at, IngestPrefix.Length);
                at = MaskSecret(text, at + IngestPrefix.Length, QuoteBefore(text, at), stopAtPathEnd: true, output);
            }
            else
            {
                output.Append(text[at]);
                at++;
            }
        }

        return output.ToString();
    }

    /// <summary>An ingest path with its key masked; other paths unchanged.</summary>
    public static string RedactPath(string path) => Redact(path);

    private static int RedactRtmp(string text, int start, StringBuilder output)
    {
        var quote = QuoteBefore(text, start);
        var authority = text.IndexOf("://", start, StringComparison.Ordinal) + 3;
        output.Append(text, start, authority - start);
        var end = TokenEnd(text, authority, quote);
        var slash = IndexOfAny(text, authority, end, '/', '?');
        var hostEnd = slash < 0 ? end : slash;

        // user:pass@host: the credentials go.
        var userInfo = text.LastIndexOf('@', hostEnd - 1, hostEnd - authority);
        if (userInfo >= authority)
        {
            output.Append(Mask).Append('@');
            output.Append(text, userInfo + 1, hostEnd - userInfo - 1);
        }
        else
        {
            output.Append(text, authority, hostEnd - authority);
        }

        if (slash < 0)
        {
            return hostEnd;
        }

        // Everything after the application segment is the key (Mux, YouTube, Twitch); a URL with no application
        // segment, or a query string, is masked whole after the host.
        var appEnd = text[slash] == '/' ? IndexOfAny(text, slash + 1, end, '/', '?') : -1;
        if (appEnd > 0 && text[appEnd] == '/')
        {
            output.Append(text, slash, appEnd + 1 - slash);
            return MaskSecret(text, appEnd + 1, quote, stopAtPathEnd: false, output);
        }

        output.Append('/');
        return MaskSecret(text, slash + 1, quote, stopAtPathEnd: false, output);
    }

    /// <summary>Masks the secret starting at <paramref name="start"/>; returns where the text goes on.</summary>
    private static int MaskSecret(string text, int start, char? quote, bool stopAtPathEnd, StringBuilder output)
    {
        var end = TokenEnd(text, start, quote);
        if (stopAtPathEnd && IndexOfAny(text, start, end, '/', '?') is var pathEnd and >= 0)
        {
            end = pathEnd;
        }

        // "error writing rtmp://host/app/secret: broken pipe": the colon belongs to the message.
        if (!stopAtPathEnd && end > start && text[end - 1] == ':')
        {
            end--;
        }

        if (end > start)
        {
            output.Append(Mask);
        }

        return end;
    }

    /// <summary>Where the token from <paramref name="start"/> ends: white space, the end, or a closing <paramref name="quote"/> followed by white space or the end.</summary>
    private static int TokenEnd(string text, int start, char? quote)
    {
        var end = start;
        while (end < text.Length && !char.IsWhiteSpace(text[end]))
        {
            end++;
        }

        // The quote the URL was opened with closes it, when it is the token's last character (or is followed by
        // punctuation such as a comma): a quote inside the key is part of the key.
        if (quote is { } q)
        {
            var close = text.LastIndexOf(q, end - 1, end - start);
            if (close >= start && end - close <= 2)
            {
                end = close;
            }
        }

        return end;
    }

    private static char? QuoteBefore(string text, int at) => at > 0 && text[at - 1] is '\'' or '"' ? text[at - 1] : null;

    private static bool StartsWithAt(string text, int at, string value) =>
        string.Compare(text, at, value, 0, value.Length, StringComparison.OrdinalIgnoreCase) == 0 && text.Length - at >= value.Length;

    private static int IndexOfAny(string text, int from, int to, char a, char b)
    {
        for (var i = from; i < to; i++)
        {
            if (text[i] == a || text[i] == b)
            {
                return i;
            }
        }

        return -1;
    }
}
