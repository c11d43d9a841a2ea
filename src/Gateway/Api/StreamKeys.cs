using System.Security.Cryptography;
using System.Text;

namespace LiveStream.Gateway.Api;

/// <summary>Stream keys: 256 random bits, URL-safe, shown once; only their SHA-256 hash is ever stored.</summary>
public static class StreamKeys
{
    /// <summary>Longest text the ingest path accepts as a key before it is refused unread.</summary>
    public const int MaxLength = 128;

    /// <summary>A new key: <c>lsk_</c> and 43 base64url characters (32 random bytes).</summary>
    public static string NewKey() => "lsk_" + Base64Url.Encode(RandomNumberGenerator.GetBytes(32));

    /// <summary>The SHA-256 of the key's UTF-8 bytes.</summary>
    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
