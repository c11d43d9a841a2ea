using LiveStream.Gateway.Api;

namespace LiveStream.Gateway.Tests;

public sealed class StreamKeysTests
{
    [Fact]
    public void A_key_carries_256_random_bits_in_url_safe_characters()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => StreamKeys.NewKey()).ToList();

        Assert.All(keys, key =>
        {
            Assert.StartsWith("lsk_", key, StringComparison.Ordinal);
            var body = key["lsk_".Length..];
            Assert.Equal(43, body.Length); // 32 bytes in base64url without padding
            Assert.All(body, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_', $"'{c}' is not URL-safe"));
            Assert.Equal(key, Uri.EscapeDataString(key));
        });
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void The_stored_form_is_a_sha256_hash_not_the_key()
    {
        var key = StreamKeys.NewKey();

        var hash = StreamKeys.Hash(key);

        Assert.Equal(32, hash.Length);
        Assert.Equal(hash, StreamKeys.Hash(key));
        Assert.NotEqual(hash, StreamKeys.Hash(StreamKeys.NewKey()));
    }
}
