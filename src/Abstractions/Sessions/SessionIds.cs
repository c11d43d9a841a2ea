using System.Security.Cryptography;

namespace LiveStream.Sessions;

/// <summary>
/// Stream and session ids. A session id is its stream's id, a dash and a random suffix, so any gateway can route
/// a session id to its stream's grain without an index. Clients must treat both as opaque strings.
/// </summary>
public static class SessionIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>A new stream id: <c>st</c> and 20 base32 characters (100 random bits).</summary>
    public static string NewStreamId() => "st" + RandomBase32(20);

    /// <summary>A new session id for <paramref name="streamId"/>.</summary>
    public static string NewSessionId(string streamId) => streamId + "-" + RandomBase32(12);

    /// <summary>The stream id a session id belongs to, or null when the text is not a session id.</summary>
    public static string? StreamIdOf(string sessionId)
    {
        var dash = sessionId.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 2 || dash == sessionId.Length - 1 || !IsId(sessionId.AsSpan(0, dash)) || !IsId(sessionId.AsSpan(dash + 1)))
        {
            return null;
        }

        return sessionId[..dash];
    }

    /// <summary>True when <paramref name="id"/> could be a stream id (used to refuse junk before it becomes a grain id).</summary>
    public static bool IsStreamId(string id) => id.Length == 22 && id.StartsWith("st", StringComparison.Ordinal) && IsId(id);

    private static bool IsId(ReadOnlySpan<char> text)
    {
        if (text.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string RandomBase32(int length)
    {
        Span<byte> bytes = stackalloc byte[length];
        RandomNumberGenerator.Fill(bytes);
        return string.Create(length, bytes.ToArray(), static (chars, b) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = Alphabet[b[i] & 31];
            }
        });
    }
}
