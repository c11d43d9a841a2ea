using LiveStream.Ingest;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// A write attempt the connection gave up on (it timed out, and was sent again) may still be under way, and Orleans
/// reads a call's payload only when it sends it (in the embedded default, the grain reads it in place). Its payload
/// must still be the bytes it was made with then, not those of later messages received into a reused buffer:
/// otherwise the late attempt commits wrong bytes at its offset and the resend, overlapping, is trimmed away.
/// Found by the load benchmark: under overload an archive differed from what was sent.
/// </summary>
public sealed class AbandonedWriteTests : IAsyncLifetime
{
    private readonly LateReadingGrain _grain = new();
    private IngestConnectionHarness _connection = null!;

    public async Task InitializeAsync() =>
        _connection = await IngestConnectionHarness.StartAsync(_grain, IngestConnectionHarness.Options(TimeSpan.FromMilliseconds(200)), "abandoned");

    public async Task DisposeAsync()
    {
        _grain.Release();
        await _connection.DisposeAsync();
    }

    [Fact(Timeout = 30_000)]
    public async Task A_timed_out_attempt_that_reads_its_payload_late_still_reads_the_bytes_it_was_made_with()
    {
        await _connection.SendAsync(0, 1000, seed: 1);

        // The first attempt stalls; the retry commits and is acknowledged; more messages arrive and are committed.
        Assert.Contains("\"offset\":1000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
        for (var i = 0; i < 20; i++)
        {
            await _connection.SendAsync(1000 + (i * 1000L), 1000, seed: 10 + i);
            Assert.Contains($"\"offset\":{2000 + (i * 1000)}", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
        }

        // Now the stalled attempt goes on and reads its payload.
        _grain.Release();
        var late = await _grain.LateRead.WaitAsync(IngestConnectionHarness.Timeout);
        Assert.Equal(IngestConnectionHarness.Payload(1000, 1), late);
    }

    /// <summary>Its first call stalls until released and only then reads its payload, like a message still queued to be sent.</summary>
    private sealed class LateReadingGrain : StandInStreamGrain
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<byte[]> _lateRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;
        private long _committed;

        public Task<byte[]> LateRead => _lateRead.Task;

        public void Release() => _release.TrySetResult();

        public override async ValueTask<WriteResult> WriteAsync(ChunkWrite write)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                await _release.Task;
                _lateRead.TrySetResult(write.Data.Memory.ToArray());
                return new WriteResult(WriteOutcome.Committed, Interlocked.Read(ref _committed));
            }

            Interlocked.Exchange(ref _committed, Math.Max(Interlocked.Read(ref _committed), write.Offset + write.Data.Length));
            return new WriteResult(WriteOutcome.Committed, Interlocked.Read(ref _committed));
        }
    }
}
