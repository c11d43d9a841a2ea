using LiveStream.Ingest;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// A write attempt that times out is retried without its bytes: the retry asks where the session's committed bytes
/// end. A silo that is only slow is not sent the same bytes again (it answers the retry once the first attempt, queued
/// ahead of it, has gone in); a silo that never answers is, from the offset the session that took over names.
/// </summary>
public sealed class SlowSiloRetryTests
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromMilliseconds(200);

    [Fact(Timeout = 30_000)]
    public async Task A_slow_silo_gets_the_bytes_once_and_the_retries_ask_without_them()
    {
        var grain = new SlowGrain(retriesBeforeFirstWriteEnds: 2, longest: TimeSpan.FromSeconds(10));
        await using var connection = await IngestConnectionHarness.StartAsync(grain, IngestConnectionHarness.Options(AttemptTimeout), "slow");

        await connection.SendAsync(0, 1000, seed: 1);
        Assert.Contains("\"offset\":1000", await connection.ReceiveTextAsync(), StringComparison.Ordinal);
        await connection.SendAsync(1000, 1000, seed: 2);
        Assert.Contains("\"offset\":2000", await connection.ReceiveTextAsync(), StringComparison.Ordinal);

        // The first write outlived several attempt timeouts: each retry carried no bytes.
        Assert.True(grain.EmptyWrites >= 2, $"{grain.EmptyWrites} retries");
        Assert.Equal(2000, grain.BytesReceived);
    }

    [Fact(Timeout = 30_000)]
    public async Task Bytes_that_did_not_go_in_are_sent_again_from_the_offset_the_retry_names()
    {
        var grain = new DeadFirstGrain();
        await using var connection = await IngestConnectionHarness.StartAsync(grain, IngestConnectionHarness.Options(AttemptTimeout), "dead");

        await connection.SendAsync(0, 1000, seed: 1);
        Assert.Contains("\"offset\":1000", await connection.ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Equal(IngestConnectionHarness.Payload(1000, 1), grain.Committed.ToArray());
        grain.Release();
    }

    /// <summary>
    /// Takes one call at a time, as a grain does; its first write goes in once the gateway has retried it
    /// <paramref name="retriesBeforeFirstWriteEnds"/> times (at most after <paramref name="longest"/>), however slow the
    /// machine. Counts the bytes and the writes without bytes it is sent.
    /// </summary>
    private sealed class SlowGrain(int retriesBeforeFirstWriteEnds, TimeSpan longest) : StandInStreamGrain
    {
        private readonly SemaphoreSlim _turn = new(1, 1);
        private long _committed;
        private int _writes;
        private int _emptyWrites;
        private long _bytes;

        public int EmptyWrites => Volatile.Read(ref _emptyWrites);

        public long BytesReceived => Interlocked.Read(ref _bytes);

        public override async ValueTask<WriteResult> WriteAsync(ChunkWrite write)
        {
            Interlocked.Add(ref _bytes, write.Data.Length);
            if (write.Data.Length == 0)
            {
                Interlocked.Increment(ref _emptyWrites);
            }

            await _turn.WaitAsync();
            try
            {
                if (Interlocked.Increment(ref _writes) == 1)
                {
                    var until = DateTime.UtcNow + longest;
                    while (EmptyWrites < retriesBeforeFirstWriteEnds && DateTime.UtcNow < until)
                    {
                        await Task.Delay(20);
                    }
                }

                _committed = Math.Max(_committed, write.Offset + write.Data.Length);
                return new WriteResult(WriteOutcome.Committed, _committed);
            }
            finally
            {
                _turn.Release();
            }
        }
    }

    /// <summary>Its first write never answers (a silo that died with it); later calls reach a session that took over.</summary>
    private sealed class DeadFirstGrain : StandInStreamGrain
    {
        private readonly TaskCompletionSource<WriteResult> _never = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly object _gate = new();
        private int _writes;

        public MemoryStream Committed { get; } = new();

        public void Release() => _never.TrySetCanceled();

        public override ValueTask<WriteResult> WriteAsync(ChunkWrite write)
        {
            if (Interlocked.Increment(ref _writes) == 1)
            {
                return new ValueTask<WriteResult>(_never.Task);
            }

            lock (_gate)
            {
                var skip = Committed.Length - write.Offset;
                if (skip < write.Data.Length)
                {
                    Committed.Write(write.Data.Memory.Span[(int)skip..]);
                }

                return ValueTask.FromResult(new WriteResult(WriteOutcome.Committed, Committed.Length));
            }
        }
    }
}
