using LiveStream.Sessions;
using LiveStream.Streams;

namespace LiveStream.Grains.Tests;

/// <summary>The failover record checks the writer's fencing token: an owner that was replaced cannot overwrite its successor.</summary>
public sealed class FailoverStoreTests
{
    [Fact]
    public async Task A_replaced_owner_that_reads_the_record_again_is_told_it_is_superseded_and_writes_nothing()
    {
        var live = new SharedRecord<LiveRecord>();
        var init = new SharedRecord<InitRecord>();
        var old = new FailoverStore(live.Open(), init.Open());
        Assert.True(await old.SaveAsync("session", 1_000, [1, 2, 3], leaseToken: 5));

        // A new owner (a newer lease, token 6) picks the session up and stores its progress.
        var successor = new FailoverStore(live.Open(), init.Open());
        await successor.ReadAsync();
        Assert.True(await successor.SaveAsync("session", 1_500, [1, 2, 3], leaseToken: 6));

        // The old owner's next write fails on the ETag; the one after reads the record again and finds the newer token.
        Assert.False(await old.SaveAsync("session", 2_000, [1, 2, 3], leaseToken: 5));
        Assert.False(old.Superseded);
        Assert.False(await old.SaveAsync("session", 2_000, [1, 2, 3], leaseToken: 5));
        Assert.True(old.Superseded);
        Assert.True(await old.ClearAsync(leaseToken: 5));

        Assert.Equal(("session", 1_500L, 6L), (live.Stored!.SessionId, live.Stored.Committed, live.Stored.LeaseToken));
        Assert.False(successor.Superseded);
    }

    [Fact]
    public async Task The_init_segment_is_written_only_when_it_changes()
    {
        var live = new SharedRecord<LiveRecord>();
        var init = new SharedRecord<InitRecord>();
        var store = new FailoverStore(live.Open(), init.Open());
        byte[] header = [9, 9, 9];

        await store.SaveAsync("session", 10, header, leaseToken: 1);
        await store.SaveAsync("session", 20, header, leaseToken: 1);
        await store.SaveAsync("session", 30, [.. header], leaseToken: 1);

        Assert.Equal((3, 1), (live.Writes, init.Writes));
        Assert.Equal(header, store.InitSegment);
    }

    /// <summary>One stored record with an ETag, opened by any number of grain activations, as a grain storage provider would.</summary>
    private sealed class SharedRecord<T>
        where T : class, new()
    {
        private int _version;

        public T? Stored { get; private set; }

        public int Writes { get; private set; }

        public IPersistentState<T> Open() => new Handle(this);

        private sealed class Handle(SharedRecord<T> record) : IPersistentState<T>
        {
            public T State { get; set; } = new();

            public string? Etag { get; private set; }

            public bool RecordExists => record.Stored is not null;

            public Task ReadStateAsync()
            {
                State = record.Stored is { } stored ? Copy(stored) : new T();
                Etag = record._version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            }

            public Task WriteStateAsync()
            {
                var current = record._version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (record.Stored is not null && Etag != current)
                {
                    return Task.FromException(new Orleans.Storage.InconsistentStateException("ETag mismatch", Etag ?? "", current));
                }

                record.Stored = Copy(State);
                record._version++;
                record.Writes++;
                Etag = record._version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            }

            public Task ClearStateAsync()
            {
                record.Stored = null;
                record._version++;
                return Task.CompletedTask;
            }

            private static T Copy(T value) => System.Text.Json.JsonSerializer.Deserialize<T>(System.Text.Json.JsonSerializer.Serialize(value))!;
        }
    }
}
