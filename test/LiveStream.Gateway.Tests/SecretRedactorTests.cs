using LiveStream.Media;

namespace LiveStream.Gateway.Tests;

public sealed class SecretRedactorTests
{
    [Theory]
    [InlineData("rtmps://global-live.mux.com:443/app/sk-123", "rtmps://global-live.mux.com:443/app/[redacted]")]
    [InlineData("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl", "rtmp://a.rtmp.youtube.com/live2/[redacted]")]
    [InlineData("rtmp://host/onlykey", "rtmp://host/[redacted]")]
    [InlineData("rtmp://host/app?key=secret", "rtmp://host/[redacted]")]
    [InlineData("error writing rtmp://host/app/secret: broken pipe", "error writing rtmp://host/app/[redacted]: broken pipe")]
    [InlineData("GET /stream/live/lsk_abc?x=1", "GET /stream/live/[redacted]?x=1")]
    [InlineData("/api/streams/st123", "/api/streams/st123")]
    public void Secrets_are_masked_and_the_rest_is_kept(string text, string expected) =>
        Assert.Equal(expected, SecretRedactor.Redact(text));
}
