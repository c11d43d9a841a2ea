using LiveStream.Gateway.Options;

namespace LiveStream.Gateway.Tests;

/// <summary>The ingest edge's limits and their defaults, as documented in the README.</summary>
public sealed class IngestOptionsTests
{
    [Fact]
    public void The_defaults_are_the_documented_limits()
    {
        var options = new IngestOptions();

        Assert.Equal(4 * 1024 * 1024, options.MaxMessageBytes);
        Assert.Equal((20, TimeSpan.FromSeconds(10)), (options.ConnectionsPerWindow, options.ConnectionWindow));
        Assert.Equal((20_000_000L, TimeSpan.FromSeconds(10)), (options.MaxBitsPerSecond, options.BitrateWindow));
        Assert.Equal(TimeSpan.FromSeconds(15), options.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), options.KeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), options.HandshakeTimeout);
        Assert.Equal(5, options.KeyCacheSeconds);
        Assert.Empty(options.AllowedOrigins);
        Assert.False(options.RequireOrigin);
        Assert.Empty(options.TrustedProxies);
        Assert.True(new IngestOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Every_bad_limit_is_reported_at_once_by_its_configuration_key()
    {
        var options = new IngestOptions
        {
            AllowedOrigins = ["https://ok.example.com", "not an origin", "https://x.example.com/path"],
            TrustedProxies = ["10.0.0.0/8", "proxy.example.com"],
            ConnectionsPerWindow = 0,
            MaxBitsPerSecond = 10,
            IdleTimeout = TimeSpan.Zero,
            HandshakeTimeout = TimeSpan.FromMinutes(10),
            KeyCacheSeconds = -1,
        };

        var result = new IngestOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        foreach (var key in new[] { "AllowedOrigins holds 'not an origin'", "AllowedOrigins holds 'https://x.example.com/path'", "TrustedProxies holds 'proxy.example.com'", "ConnectionsPerWindow", "MaxBitsPerSecond", "IdleTimeout", "HandshakeTimeout", "KeyCacheSeconds" })
        {
            Assert.Contains(result.Failures!, f => f.Contains("LiveStream:Ingest:" + key, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(result.Failures!, f => f.Contains("'https://ok.example.com'", StringComparison.Ordinal) || f.Contains("'10.0.0.0/8'", StringComparison.Ordinal));
    }
}
