using System.Diagnostics;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Leases;
using LiveStream.Streams;
using LiveStream.Testing;
using Orleans.TestingHost;
using StackExchange.Redis;

namespace LiveStream.Grains.Tests;

/// <summary>The per-stream lease on a two-silo in-process cluster and a real redis-server.</summary>
public sealed class LeaseTests : IAsyncLifetime
{
    // The cluster's lease TTL: a killed holder is replaced this long after its last renewal.
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);

    // Leases the tests put in the store themselves, to stand for holders that stay alive.
    private static readonly TimeSpan LongTtl = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly FakeMediaProcessRunner _runner = new();
    private readonly string _dataPath = TestClusters.NewDataPath();
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _redisClient = null!;
    private InProcessTestCluster _cluster = null!;
    private RedisLeaseStore _store = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _redisClient = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        _store = new RedisLeaseStore(new RedisConnection(_redis.ConnectionString));
        _cluster = TestClusters.Build(_dataPath, _runner, silos: 2, settings: new Dictionary<string, string>
        {
            ["ConnectionStrings:Redis"] = _redis.ConnectionString,
            ["LiveStream:Lease:Ttl"] = Ttl.ToString(),
            ["LiveStream:Lease:RenewInterval"] = "00:00:00.200",
        },
        // A call in flight to a killed silo fails after this, and is retried, as the gateway does.
        responseTimeout: TimeSpan.FromSeconds(5));
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _redisClient.DisposeAsync();
        await _redis.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 120_000)]
    public async Task While_a_live_holder_elsewhere_has_the_lease_no_ffmpeg_starts_and_a_holder_keeps_contenders_out()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client);
        var streamId = grain.GetPrimaryKeyString();
        var elsewhere = await _store.AcquireAsync(streamId, $"{_cluster.Silos[1].SiloAddress.ToParsableString()}/other-session", LongTtl, default);

        var refused = await StreamFactory.ConnectAsync(grain, hash);

        Assert.False(refused.Accepted);
        Assert.Equal(CloseCodes.ClusterUnavailable, refused.CloseCode);
        Assert.DoesNotContain(_runner.BySession.Keys, id => id.StartsWith(streamId, StringComparison.Ordinal));

        await _store.ReleaseAsync(streamId, elsewhere, default);
        var accepted = await StreamFactory.ConnectAsync(grain, hash);

        Assert.True(accepted.Accepted);
        var held = Lease.Parse(await _redisClient.GetDatabase().StringGetAsync(RedisLeaseStore.Key(streamId)))!;
        Assert.Contains("/" + accepted.SessionId + "/", held.Holder, StringComparison.Ordinal);
        Assert.True(held.Token > elsewhere.Token);
        var contender = await _store.AcquireAsync(streamId, "somebody-else", LongTtl, default);
        Assert.Equal(held, contender);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_holder_that_loses_its_lease_stops_its_ffmpeg()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        var process = Assert.Single(_runner.For(session.SessionId!));

        await _redisClient.GetDatabase().StringSetAsync(RedisLeaseStore.Key(grain.GetPrimaryKeyString()), "999999|another-owner/x", LongTtl);

        await Eventually.HoldsAsync(() => process.Exited.IsCompleted, Timeout, "the fenced-off FFmpeg to stop");
        Assert.True(process.Killed);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_killed_holder_is_replaced_on_the_survivor_with_a_newer_fencing_token()
    {
        // (That the store grants the lease only after the old holder has fenced itself off is LeaseKeeperTests'.)
        var victim = _cluster.Silos[1];
        var (grain, hash, session, lease) = await LiveStreamOnAsync(victim.SiloAddress);

        await _cluster.KillSiloAsync(victim);
        var started = Stopwatch.GetTimestamp();

        var resumed = await Eventually.ReturnsAsync(
            async () =>
            {
                try
                {
                    return await StreamFactory.ConnectAsync(grain, hash);
                }
                catch (Exception ex) when (ex is OrleansException or TimeoutException)
                {
                    return null;
                }
            },
            r => r is { Accepted: true },
            Timeout,
            "the stream to be taken over on the surviving silo");
        var elapsed = Stopwatch.GetElapsedTime(started);

        var taken = Lease.Parse(await _redisClient.GetDatabase().StringGetAsync(RedisLeaseStore.Key(grain.GetPrimaryKeyString())))!;
        Assert.True(taken.Token > lease.Token);
        Assert.StartsWith(_cluster.Silos[0].SiloAddress.ToParsableString() + "/", taken.Holder, StringComparison.Ordinal);
        Assert.Equal(session.SessionId, resumed!.SessionId);
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"took {elapsed}");
    }

    [Fact(Timeout = 120_000)]
    public async Task When_its_silo_dies_the_live_session_is_picked_up_on_the_survivor_where_the_acknowledged_bytes_end()
    {
        var victim = _cluster.Silos[1];
        var capture = MediaCapture.Load("audio-only-opus");
        var chunks = capture.Chunks().ToList();
        var (grain, _, session, _) = await LiveStreamOnAsync(victim.SiloAddress);
        var committed = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, chunks.Take(8));
        var first = Assert.Single(_runner.For(session.SessionId!));

        await _cluster.KillSiloAsync(victim);

        // The publisher's next chunk, same epoch, at the acknowledged offset: it lands once the survivor owns the stream.
        var result = await WriteToSurvivorAsync(grain, new ChunkWrite(session.Epoch, committed, chunks[8]));
        committed = await StreamFactory.WriteAllAsync(grain, session.Epoch, result.Committed, chunks.Skip(9));

        var status = (await grain.GetSessionAsync(session.SessionId!))!;
        Assert.Equal((SessionState.Active, capture.Bytes.Length), (status.State, status.BytesIngested));
        Assert.Equal(session.Epoch, status.ConnectionEpoch);
        var processes = _runner.For(session.SessionId!);
        Assert.Equal(2, processes.Count);
        var second = processes[1];
        Assert.Equal((second.Id, 1), (status.Ffmpeg.Pid, status.Ffmpeg.Restarts));
        var init = capture.Bytes.AsSpan(0, capture.Bytes.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x1F, 0x43, 0xB6, 0x75])).ToArray();
        await Eventually.HoldsAsync(() => second.Received.Length > init.Length, Timeout, "the new FFmpeg to be fed");
        Assert.Equal(init, second.Received[..init.Length]);

        // After the init segment it reads whole clusters: the bytes it got are the capture's tail from a cluster start.
        var tail = second.Received[init.Length..];
        Assert.True(tail.AsSpan().StartsWith((ReadOnlySpan<byte>)[0x1F, 0x43, 0xB6, 0x75]));
        Assert.True(capture.Bytes.AsSpan().EndsWith(tail));
        GC.KeepAlive(first);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_session_picked_up_by_a_write_can_close_its_publisher_once_the_gateway_attached_the_connection()
    {
        var victim = _cluster.Silos[1];
        var chunks = MediaCapture.Load("audio-only-opus").Chunks().ToList();
        var (grain, hash, session, lease) = await LiveStreamOnAsync(victim.SiloAddress);
        var committed = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, chunks.Take(4));

        await _cluster.KillSiloAsync(victim);
        var result = await WriteToSurvivorAsync(grain, new ChunkWrite(session.Epoch, committed, chunks[4]));

        // The survivor answers with its own, larger, token: the gateway attaches the connection's observer to it.
        Assert.True(result.Owner > lease.Token);
        var observer = new RecordingObserver();
        await grain.AttachAsync(session.Epoch, _cluster.Client.CreateObjectReference<IPublisherObserver>(observer));

        // A second publisher takes over: the first is told to close at once, by the owner it was attached to.
        var newer = await StreamFactory.ConnectAsync(grain, hash);
        Assert.Equal((true, session.SessionId), (newer.Accepted, newer.SessionId));
        Assert.Equal((session.Epoch, CloseCodes.Superseded, result.Owner), await observer.NextCloseAsync(Timeout));
        GC.KeepAlive(observer);
    }

    [Fact(Timeout = 120_000)]
    public async Task When_its_silo_shuts_down_the_live_session_moves_to_the_survivor_at_once_and_the_same_connection_goes_on()
    {
        var victim = _cluster.Silos[1];
        var survivor = _cluster.Silos[0].SiloAddress;
        var capture = MediaCapture.Load("audio-only-opus");
        var chunks = capture.Chunks().ToList();
        var (grain, _, session, lease) = await LiveStreamOnAsync(victim.SiloAddress);
        var committed = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, chunks.Take(8));
        var first = Assert.Single(_runner.For(session.SessionId!));

        await _cluster.StopSiloAsync(victim);

        // Killed, not finalised: the playlist goes on under the new owner.
        Assert.True(first.Killed);
        Assert.False(first.StopRequested);

        // Picked up on the survivor before anyone calls the grain: the stopping silo woke it there, and the new
        // activation took the lease (read from Redis, so no grain call activates it here).
        var key = RedisLeaseStore.Key(grain.GetPrimaryKeyString());
        var taken = await Eventually.ReturnsAsync(
            async () => Lease.Parse(await _redisClient.GetDatabase().StringGetAsync(key)),
            l => l is not null && l.Holder.StartsWith(survivor.ToParsableString() + "/", StringComparison.Ordinal),
            Timeout,
            "the survivor to take the lease");
        Assert.True(taken!.Token > lease.Token);
        // The lease is taken before the stored state is read again: status shows the moved session once it is live there.
        var moved = (await Eventually.ReturnsAsync(
            () => grain.GetSessionAsync(session.SessionId!),
            s => s?.Silo == survivor.ToParsableString(),
            Timeout,
            "the session to be live on the survivor"))!;
        Assert.Equal((SessionState.Disconnected, committed, session.Epoch), (moved.State, moved.BytesIngested, moved.ConnectionEpoch));

        // The same publisher connection (same epoch) goes on where its acknowledged bytes end.
        committed = await StreamFactory.WriteAllAsync(grain, session.Epoch, committed, chunks.Skip(8));

        var status = (await grain.GetSessionAsync(session.SessionId!))!;
        Assert.Equal((SessionState.Active, capture.Bytes.Length, session.Epoch), (status.State, status.BytesIngested, status.ConnectionEpoch));
        Assert.Equal((_runner.For(session.SessionId!)[^1].Id, 1), (status.Ffmpeg.Pid, status.Ffmpeg.Restarts));
        Assert.Equal(capture.Bytes.Length, committed);
        var archive = await File.ReadAllBytesAsync(DataLayout.ArchivePath(_dataPath, session.SessionId!));
        Assert.Equal(capture.Bytes, archive);
        Assert.Equal(2, _runner.For(session.SessionId!).Count);
    }

    /// <summary>
    /// The publisher's next chunk after its silo was killed, same epoch, at the acknowledged offset, sent until it lands
    /// (calls to the dead silo fail until the cluster has declared it dead); returns the survivor's answer.
    /// </summary>
    private static async Task<WriteResult> WriteToSurvivorAsync(IStreamGrain grain, ChunkWrite write) =>
        (await Eventually.ReturnsAsync(
            async () =>
            {
                try
                {
                    return await grain.WriteAsync(write);
                }
                catch (Exception ex) when (ex is OrleansException or TimeoutException)
                {
                    return null;
                }
            },
            r => r is { Outcome: WriteOutcome.Committed },
            Timeout,
            "the write to land on the survivor"))!;

    /// <summary>Creates streams until one goes live on <paramref name="silo"/> (placement is the cluster's choice).</summary>
    private async Task<(IStreamGrain Grain, byte[] Hash, ConnectResult Session, Lease Lease)> LiveStreamOnAsync(SiloAddress silo)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client);
            var session = await StreamFactory.ConnectAsync(grain, hash);
            var lease = Lease.Parse(await _redisClient.GetDatabase().StringGetAsync(RedisLeaseStore.Key(grain.GetPrimaryKeyString())))!;
            if (lease.Holder.StartsWith(silo.ToParsableString() + "/", StringComparison.Ordinal))
            {
                return (grain, hash, session, lease);
            }
        }

        throw new InvalidOperationException("no stream was placed on " + silo);
    }
}
