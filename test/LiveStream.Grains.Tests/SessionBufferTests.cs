using LiveStream.Media;

namespace LiveStream.Grains.Tests;

public sealed class SessionBufferTests
{
    [Fact(Timeout = 10_000)]
    public async Task A_drain_stops_before_the_first_byte_once_the_session_may_no_longer_write()
    {
        var allowed = true;
        var buffer = new SessionBuffer(1024, () => Volatile.Read(ref allowed));
        using var sink = new MemoryStream();
        buffer.Add([1, 2, 3]);
        var drain = buffer.DrainToAsync(sink, default);
        await Testing.Eventually.HoldsAsync(() => sink.Length == 3, TimeSpan.FromSeconds(5), "the first chunk to be written");

        Volatile.Write(ref allowed, false);
        buffer.Add([4, 5, 6]);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => drain);
        Assert.Equal([1, 2, 3], sink.ToArray());
        buffer.Dispose();
        Assert.Equal(0, buffer.BufferedBytes);
    }
}
