namespace LiveStream.Gateway.Api;

/// <summary>URL-safe base64 without padding (RFC 4648 §5).</summary>
internal static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
