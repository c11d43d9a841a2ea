namespace LiveStream.Gateway.Tests;

/// <summary>The Go Live page's HLS preview player: the pinned hls.js comes from the gateway, with its licence, never from a CDN.</summary>
public sealed class GoLivePageTests(GatewayFactory factory) : IClassFixture<GatewayFactory>
{
    private const string HlsJsVersion = "1.7.4";

    [Fact(Timeout = 60_000)]
    public async Task The_gateway_serves_the_pinned_hls_js_module_and_its_licence()
    {
        using var client = factory.CreateClient();

        using var module = await client.GetAsync("/vendor/hls.js/hls.light.min.mjs");
        using var licence = await client.GetAsync("/vendor/hls.js/LICENSE.txt");

        Assert.Equal(System.Net.HttpStatusCode.OK, module.StatusCode);
        Assert.Equal("text/javascript", module.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"\"{HlsJsVersion}\"", await module.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, licence.StatusCode);
        Assert.Contains("Apache License, Version 2.0", await licence.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_page_loads_its_player_from_the_gateway_and_from_no_other_host()
    {
        using var client = factory.CreateClient();

        var script = await client.GetStringAsync("/golive.js");
        var page = await client.GetStringAsync("/");

        Assert.Contains("'/vendor/hls.js/hls.light.min.mjs'", script, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"https?://", script);
        Assert.DoesNotMatch(@"<script[^>]+src=""https?://", page);
    }
}
