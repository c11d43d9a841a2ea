using System.Security.Cryptography;
using System.Text;
using LiveStream.Options;
using Microsoft.Extensions.Options;

namespace LiveStream.Gateway.Api;

/// <summary>
/// The admin API's bearer token: configured, or (embedded default only) generated at start and printed once on
/// the console, never through the logger. Compared in constant time.
/// </summary>
public sealed class AdminToken
{
    private readonly byte[] _hash;

    public AdminToken(IOptions<LiveStreamOptions> options)
    {
        var configured = options.Value.AdminToken;
        if (string.IsNullOrWhiteSpace(configured))
        {
            configured = Base64Url.Encode(RandomNumberGenerator.GetBytes(24));
            Generated = configured;
        }

        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(configured));
    }

    /// <summary>The token when it was generated (to print once), otherwise null.</summary>
    public string? Generated { get; }

    /// <summary>True when <paramref name="authorization"/> is <c>Bearer &lt;token&gt;</c> with the right token.</summary>
    public bool Matches(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(presented, _hash);
    }
}
