using System.Text;
using LiveStream.Webhooks;

namespace LiveStream.Grains.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_test_secret_0123";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"evt_1","type":"stream.active"}""");
    private static readonly DateTimeOffset SignedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    [Fact]
    public void The_signature_is_hex_HMAC_SHA256_over_timestamp_dot_body()
    {
        // Computed independently: printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac <secret>
        Assert.Equal(
            "t=1700000000,v1=ccc026cbcd061fff0a31bddcb5029f8b2aaaca8a3f5219dd4f515146407e902a",
            WebhookSignature.Sign(Secret, 1_700_000_000, Body));
    }

    [Fact]
    public void A_fresh_signature_verifies_and_a_changed_body_or_secret_does_not()
    {
        var header = WebhookSignature.Sign(Secret, SignedAt.ToUnixTimeSeconds(), Body);
        Assert.True(WebhookSignature.Verify(Secret, header, Body, SignedAt.AddSeconds(30), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, header, [.. Body, (byte)' '], SignedAt, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify("whsec_another_secret_99", header, Body, SignedAt, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, null, Body, SignedAt, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, "v1=00", Body, SignedAt, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void A_signature_older_than_the_replay_window_is_refused()
    {
        var header = WebhookSignature.Sign(Secret, SignedAt.ToUnixTimeSeconds(), Body);
        Assert.False(WebhookSignature.Verify(Secret, header, Body, SignedAt.AddMinutes(5).AddSeconds(1), TimeSpan.FromMinutes(5)));
    }

    [Theory]
    [InlineData("https://hooks.example.com/in?token=s3cret", "https://hooks.example.com/in?[redacted]")]
    [InlineData("https://user:pass@hooks.example.com:8443/in", "https://hooks.example.com:8443/in")]
    [InlineData("http://127.0.0.1:9000/", "http://127.0.0.1:9000/")]
    public void Logged_urls_show_neither_query_nor_user_info(string url, string expected) =>
        Assert.Equal(expected, WebhookUrls.Redact(url));

    [Theory]
    [InlineData("https://hooks.example.com/in", true)]
    [InlineData("http://127.0.0.1:9000/x", true)]
    [InlineData("ftp://hooks.example.com/in", false)]
    [InlineData("/relative", false)]
    [InlineData("not a url", false)]
    public void Only_absolute_http_and_https_urls_are_valid(string url, bool valid) =>
        Assert.Equal(valid, WebhookUrls.IsValid(url));
}
