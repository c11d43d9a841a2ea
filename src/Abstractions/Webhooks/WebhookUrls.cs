using System.Security.Cryptography;

namespace LiveStream.Webhooks;

/// <summary>Checks and masks webhook URLs: a URL's query or user info may hold a secret, so logs and reads show neither.</summary>
public static class WebhookUrls
{
    /// <summary>Whether <paramref name="url"/> is an absolute http or https URL.</summary>
    public static bool IsValid(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host);

    /// <summary><paramref name="url"/> without user info, with its query masked: <c>https://host/path?[redacted]</c>.</summary>
    public static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return Media.SecretRedactor.Mask;
        }

        var masked = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        return uri.Query.Length > 1 || uri.Fragment.Length > 1 ? masked + "?" + Media.SecretRedactor.Mask : masked;
    }

    /// <summary>A new random signing secret: <c>whsec_</c> and 32 random bytes, base64url.</summary>
    public static string NewSecret() =>
        "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
