using LiveStream.Sessions;
using Microsoft.Extensions.Time.Testing;

namespace LiveStream.Grains.Tests.Telemetry;

public sealed class IngestRateTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void The_bitrate_counts_whole_chunks_over_the_last_seconds()
    {
        var rate = new IngestRate(_time);
        Assert.Null(rate.BitsPerSecond);

        // 1 Mbit/s in chunks every 540 ms (a 500 ms timeslice), then 250 kbit/s.
        long committed = 0;
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(540));
            rate.Commit(committed += 1_000_000 / 8 * 540 / 1000);
        }

        Assert.Equal(1_000_000, rate.BitsPerSecond);

        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(540));
            rate.Commit(committed += 250_000 / 8 * 540 / 1000);
        }

        Assert.Equal(250_000, rate.BitsPerSecond);
    }

    [Fact]
    public void A_publisher_that_sends_nothing_for_a_whole_window_has_a_bitrate_of_0()
    {
        var rate = new IngestRate(_time);
        rate.Commit(10_000);
        _time.Advance(TimeSpan.FromSeconds(1));
        rate.Commit(20_000);
        Assert.Equal(80_000, rate.BitsPerSecond);

        _time.Advance(IngestRate.Window);

        Assert.Equal(0, rate.BitsPerSecond);
    }
}
