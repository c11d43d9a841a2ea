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
    [InlineData("rtmp://user:hunter2@live.example.com/app/key", "rtmp://[redacted]@live.example.com/app/[redacted]")]
    [InlineData("rtmps://user:p@ss@host:443/app/key", "rtmps://[redacted]@host:443/app/[redacted]")]
    [InlineData("target 'rtmp://host/app/ke\"y' failed", "target 'rtmp://host/app/[redacted]' failed")]
    [InlineData("target \"rtmp://host/app/ab'cd\"", "target \"rtmp://host/app/[redacted]\"")]
    [InlineData("rtmp://host/app/a'b\"c d", "rtmp://host/app/[redacted] d")]
    [InlineData("GET /stream/live/ab\"cd'ef HTTP/1.1", "GET /stream/live/[redacted] HTTP/1.1")]
    [InlineData("path=\"/stream/live/ab\"c\"", "path=\"/stream/live/[redacted]\"")]
    [InlineData("RTMP://HOST/APP/KEY", "RTMP://HOST/APP/[redacted]")]
    [InlineData("no secrets here: rtmp is a protocol", "no secrets here: rtmp is a protocol")]
    public void Secrets_are_masked_and_the_rest_is_kept(string text, string expected) =>
        Assert.Equal(expected, SecretRedactor.Redact(text));

    [Fact]
    public void No_character_of_a_random_key_survives_in_any_quoting()
    {
        var random = new Random(7);
        const string alphabet = "abcXYZ019-_.~'\"`$%&()*+,;=!:@";
        for (var i = 0; i < 2000; i++)
        {
            var key = "K" + new string(Enumerable.Range(0, random.Next(8, 40)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()) + "Z";
            foreach (var text in new[] { $"rtmp://host/app/{key}", $"'rtmps://u:{key}@host/app/x' failed", $"\"rtmp://host/app/{key}\"", $"GET /stream/live/{key} HTTP/1.1" })
            {
                var redacted = SecretRedactor.Redact(text);
                Assert.DoesNotContain(key[..6], redacted, StringComparison.Ordinal);
                Assert.DoesNotContain(key[^6..], redacted, StringComparison.Ordinal);
            }
        }
    }
}
