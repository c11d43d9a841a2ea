using LiveStream.Options;
using Microsoft.Extensions.Options;

namespace LiveStream.Gateway.Options;

/// <summary>Validates <see cref="IngestOptions"/>; each message names the configuration key.</summary>
internal sealed class IngestOptionsValidator : IValidateOptions<IngestOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestOptions options)
    {
        var errors = new List<string>();
        if (options.MaxMessageBytes is < 1024 or > 64 * 1024 * 1024)
        {
            errors.Add("LiveStream:Ingest:MaxMessageBytes must be between 1024 and 67108864.");
        }

        if (options.ReceiveBufferBytes < 1024 || options.ReceiveBufferBytes > options.MaxMessageBytes)
        {
            errors.Add("LiveStream:Ingest:ReceiveBufferBytes must be at least 1024 and at most LiveStream:Ingest:MaxMessageBytes.");
        }

        if (options.MaxBackoff <= TimeSpan.Zero || options.MaxBackoff > TimeSpan.FromSeconds(5))
        {
            errors.Add("LiveStream:Ingest:MaxBackoff must be positive and at most 00:00:05.");
        }

        if (options.GrainCallTimeout < TimeSpan.FromSeconds(1) || options.GrainCallTimeout > TimeSpan.FromMinutes(2))
        {
            errors.Add("LiveStream:Ingest:GrainCallTimeout must be between 00:00:01 and 00:02:00.");
        }

        if (options.WriteAttemptTimeout < TimeSpan.FromMilliseconds(100) || options.WriteAttemptTimeout > options.GrainCallTimeout)
        {
            errors.Add("LiveStream:Ingest:WriteAttemptTimeout must be at least 00:00:00.1 and at most LiveStream:Ingest:GrainCallTimeout.");
        }

        if (options.SiloListRefresh < TimeSpan.FromMilliseconds(500) || options.SiloListRefresh > TimeSpan.FromMinutes(5))
        {
            errors.Add("LiveStream:Ingest:SiloListRefresh must be between 00:00:00.5 and 00:05:00.");
        }

        if (options.WriteRetryTimeout < options.WriteAttemptTimeout || options.WriteRetryTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add("LiveStream:Ingest:WriteRetryTimeout must be at least LiveStream:Ingest:WriteAttemptTimeout and at most 00:10:00.");
        }

        if (options.UnknownKeyCacheSeconds is < 0 or > 60)
        {
            errors.Add("LiveStream:Ingest:UnknownKeyCacheSeconds must be between 0 and 60.");
        }

        if (options.MaxPendingHandshakes < 1)
        {
            errors.Add("LiveStream:Ingest:MaxPendingHandshakes must be at least 1.");
        }

        if (options.IPv6PrefixLength is < 32 or > 128)
        {
            errors.Add("LiveStream:Ingest:IPv6PrefixLength must be between 32 and 128.");
        }

        if (options.KeyCacheSeconds is < 0 or > 300)
        {
            errors.Add("LiveStream:Ingest:KeyCacheSeconds must be between 0 and 300.");
        }

        foreach (var origin in options.AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/")
            {
                errors.Add($"LiveStream:Ingest:AllowedOrigins holds '{origin}', which is not an origin (scheme://host[:port]).");
            }
        }

        if (options.ConnectionsPerWindow < 1 || options.ConnectionWindow <= TimeSpan.Zero)
        {
            errors.Add("LiveStream:Ingest:ConnectionsPerWindow must be at least 1 and LiveStream:Ingest:ConnectionWindow positive.");
        }

        foreach (var proxy in options.TrustedProxies)
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _) && !System.Net.IPNetwork.TryParse(proxy, out _))
            {
                errors.Add($"LiveStream:Ingest:TrustedProxies holds '{proxy}', which is neither an IP address nor a network (10.0.0.0/8).");
            }
        }

        if (options.MaxBitsPerSecond < 100_000 || options.BitrateWindow < TimeSpan.FromSeconds(1))
        {
            errors.Add("LiveStream:Ingest:MaxBitsPerSecond must be at least 100000 and LiveStream:Ingest:BitrateWindow at least 00:00:01.");
        }

        if (options.HandshakeTimeout < TimeSpan.FromSeconds(1) || options.HandshakeTimeout > TimeSpan.FromMinutes(2))
        {
            errors.Add("LiveStream:Ingest:HandshakeTimeout must be between 00:00:01 and 00:02:00.");
        }

        if (options.IdleTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add("LiveStream:Ingest:IdleTimeout must be at least 00:00:01.");
        }

        if (options.KeepAliveInterval < TimeSpan.Zero)
        {
            errors.Add("LiveStream:Ingest:KeepAliveInterval must not be negative.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>A standalone gateway needs an admin token; only the embedded default may generate one.</summary>
internal sealed class AdminTokenValidator(IOptions<GatewayHostingOptions> gateway) : IValidateOptions<LiveStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, LiveStreamOptions options) =>
        !gateway.Value.HostSilo && string.IsNullOrWhiteSpace(options.AdminToken)
            ? ValidateOptionsResult.Fail("LiveStream:AdminToken must be set on a gateway that does not host a silo (LiveStream:Gateway:HostSilo=false).")
            : ValidateOptionsResult.Success;
}

/// <summary>Validates <see cref="GatewayHostingOptions"/>: the metrics listener is an http URL with a port of its own.</summary>
internal sealed class GatewayHostingOptionsValidator(Microsoft.Extensions.Configuration.IConfiguration configuration) : IValidateOptions<GatewayHostingOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayHostingOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.MetricsUrl))
        {
            return ValidateOptionsResult.Success;
        }

        if (!Uri.TryCreate(options.MetricsUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")
            || url.AbsolutePath != "/" || !options.MetricsUrl.Contains($":{url.Port}", StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail(
                $"LiveStream:Gateway:MetricsUrl must be an http URL with a port and no path, such as http://0.0.0.0:9464 (it is '{options.MetricsUrl}').");
        }

        // The metrics listener itself was appended to the server URLs at start-up.
        foreach (var publicUrl in (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(u => u != options.MetricsUrl.Trim()))
        {
            if (Uri.TryCreate(publicUrl.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var other) && other.Port == url.Port)
            {
                return ValidateOptionsResult.Fail($"LiveStream:Gateway:MetricsUrl must use another port than the public URL {publicUrl}, or the public port would serve /metrics.");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
