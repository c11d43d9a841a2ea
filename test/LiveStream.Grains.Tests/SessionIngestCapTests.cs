using LiveStream.Ingest;
using LiveStream.Testing;

namespace LiveStream.Grains.Tests;

/// <summary>A cluster whose sessions are capped at 800 kbit/s with a one-second burst (100 kB).</summary>
public sealed class IngestCapClusterFixture() : FakeMediaClusterFixture(new Dictionary<string, string>
{
    ["LiveStream:Session:MaxBitsPerSecond"] = "800000",
    ["LiveStream:Session:IngestBurst"] = "00:00:01",
});

/// <summary>
/// The session's ingest cap holds across reconnects: each connection used to get a fresh per-connection meter, so a
/// publisher could burst, reconnect and burst again.
/// </summary>
public sealed class SessionIngestCapTests(IngestCapClusterFixture fixture) : IClassFixture<IngestCapClusterFixture>
{
    private const int BurstBytes = 100_000;

    [Fact(Timeout = 60_000)]
    public async Task Reconnecting_does_not_reset_the_cap_and_bytes_over_it_wait_for_their_share_of_time()
    {
        var chunks = MediaCapture.Load("vp8-opus").Chunks().Where(c => !c.IsEmpty).ToList();
        var (grain, hash) = await StreamFactory.CreateAsync(fixture.Client);
        long committed = 0;
        var next = 0;
        string? sessionId = null;

        // Twenty connections in a row, each sending as fast as it can until it is told to wait.
        for (var connection = 0; connection < 20; connection++)
        {
            var session = await StreamFactory.ConnectAsync(grain, hash);
            Assert.True(session.Accepted);
            sessionId ??= session.SessionId;
            Assert.Equal((sessionId, committed), (session.SessionId, session.ResumeFrom));
            while (next < chunks.Count)
            {
                var result = await grain.WriteAsync(new ChunkWrite(session.Epoch, committed, chunks[next]));
                if (result.Outcome == WriteOutcome.BufferFull)
                {
                    break;
                }

                Assert.Equal(WriteOutcome.Committed, result.Outcome);
                committed = result.Committed;
                next++;
            }

            await grain.DisconnectAsync(session.Epoch, DisconnectKind.Dropped, 1006);
        }

        // No time passed on the silo's clock: one burst, whatever the number of connections.
        var largest = chunks.Max(c => c.Length);
        Assert.InRange(committed, BurstBytes - largest, BurstBytes + largest);

        // A second at the cap lets about 100 kB more through.
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var resumed = await StreamFactory.ConnectAsync(grain, hash);
        var before = committed;
        while (next < chunks.Count)
        {
            var result = await grain.WriteAsync(new ChunkWrite(resumed.Epoch, committed, chunks[next]));
            if (result.Outcome != WriteOutcome.Committed)
            {
                Assert.Equal(WriteOutcome.BufferFull, result.Outcome);
                break;
            }

            committed = result.Committed;
            next++;
        }

        Assert.InRange(committed - before, BurstBytes - (2 * largest), BurstBytes + largest);
        await grain.DisconnectAsync(resumed.Epoch, DisconnectKind.End, CloseCodes.Normal);
    }
}
