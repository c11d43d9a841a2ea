using LiveStream.Leases;
using LiveStream.Options;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace LiveStream.Grains.Tests;

/// <summary>The fence: a holder that cannot prove its lease has stopped before anyone else can be granted it.</summary>
public sealed class LeaseKeeperTests
{
    private static readonly LeaseOptions Options = new() { Ttl = TimeSpan.FromSeconds(3), RenewInterval = TimeSpan.FromSeconds(1), StopMargin = TimeSpan.FromMilliseconds(500) };

    [Fact(Timeout = 30_000)]
    public async Task A_holder_cut_off_from_the_store_is_fenced_before_a_contender_can_take_the_lease()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new MemoryLeaseStore(time);
        var cut = new CuttableLeaseStore(store);
        await using var keeper = new LeaseKeeper(cut, new LeaseRenewals(Microsoft.Extensions.Options.Options.Create(Options), time), NullLogger.Instance, "stream", "silo-a/session");
        Assert.True(await keeper.AcquireAsync(default));
        DateTimeOffset? fencedAt = null;
        keeper.Fenced.Register(() => fencedAt = time.GetUtcNow());

        // The holder's store goes silent: its renewals hang. A contender on the same store keeps asking.
        cut.Cut = true;
        DateTimeOffset? grantedAt = null;
        for (var step = 0; step < 100 && grantedAt is null; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            var lease = await store.AcquireAsync("stream", "silo-b/session", Options.Ttl, default);
            if (lease.Holder == "silo-b/session")
            {
                grantedAt = time.GetUtcNow();
                Assert.True(fencedAt is not null && fencedAt < grantedAt, $"granted at {grantedAt:O} to the contender while the holder was fenced at {fencedAt:O}");
            }
        }

        Assert.NotNull(grantedAt);
        Assert.False(keeper.IsHeld);
        Assert.True(grantedAt - fencedAt >= Options.StopMargin);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_holder_whose_lease_was_taken_is_fenced_at_its_next_renewal()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new MemoryLeaseStore(time);
        await using var keeper = new LeaseKeeper(store, new LeaseRenewals(Microsoft.Extensions.Options.Options.Create(Options), time), NullLogger.Instance, "stream", "silo-a/session");
        Assert.True(await keeper.AcquireAsync(default));
        await store.ReleaseAsync("stream", keeper.Current!, default);
        await store.AcquireAsync("stream", "silo-b/session", TimeSpan.FromMinutes(10), default);

        await Testing.Eventually.HoldsAsync(
            () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(200));
                return keeper.Fenced.IsCancellationRequested;
            },
            TimeSpan.FromSeconds(10),
            "the holder to be fenced");
    }

    [Fact(Timeout = 30_000)]
    public async Task The_silo_renews_every_lease_on_one_clock_and_a_hanging_renewal_holds_up_only_its_own()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new MemoryLeaseStore(time);
        var cut = new CuttableLeaseStore(store);
        using var renewals = new LeaseRenewals(Microsoft.Extensions.Options.Options.Create(Options), time);
        var healthy = new List<LeaseKeeper>();
        // Fewer than a clock's slice: each tick renews them all before the fake clock moves on.
        for (var i = 0; i < 200; i++)
        {
            var keeper = new LeaseKeeper(store, renewals, NullLogger.Instance, $"stream-{i}", $"silo-a/session-{i}");
            Assert.True(await keeper.AcquireAsync(default));
            healthy.Add(keeper);
        }

        await using var stalled = new LeaseKeeper(cut, renewals, NullLogger.Instance, "stream-stalled", "silo-a/session-stalled");
        Assert.True(await stalled.AcquireAsync(default));
        Assert.Equal(201, renewals.Count);

        // The stalled keeper's store stops answering; the others' keeps going. Ten seconds: far past every deadline.
        cut.Cut = true;
        for (var step = 0; step < 100; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
        }

        await Testing.Eventually.HoldsAsync(() => healthy.All(k => k.IsHeld), TimeSpan.FromSeconds(10), "every healthy lease to be held");
        Assert.True(stalled.Fenced.IsCancellationRequested);
        Assert.False(stalled.IsHeld);

        foreach (var keeper in healthy)
        {
            await keeper.DisposeAsync();
        }

        await stalled.ReleaseAsync(default);
        Assert.Equal(0, renewals.Count);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_fence_callback_that_throws_neither_stops_the_others_nor_the_release()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new MemoryLeaseStore(time);
        using var renewals = new LeaseRenewals(Microsoft.Extensions.Options.Options.Create(Options), time);
        var keeper = new LeaseKeeper(store, renewals, NullLogger.Instance, "stream", "silo-a/session");
        Assert.True(await keeper.AcquireAsync(default));
        var ran = new List<string>();
        keeper.OnFenced(() => ran.Add("first"));
        keeper.OnFenced(() => throw new ObjectDisposedException("a process let go of before the fence"));
        keeper.Fenced.Register(() => throw new InvalidOperationException("registered on the token itself"));
        keeper.OnFenced(() => ran.Add("last"));

        // A session leaving: its keeper is fenced and released. Before, the throwing callback ended DisposeAsync
        // there, and the lease stayed taken until its TTL ran out (the stream's next session refused meanwhile).
        await keeper.DisposeAsync();

        Assert.Equal(["last", "first"], ran);
        Assert.Equal(0, renewals.Count);
        var contender = await store.AcquireAsync("stream", "silo-b/session", Options.Ttl, default);
        Assert.Equal("silo-b/session", contender.Holder);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_fence_callback_that_throws_on_the_fences_timer_is_contained()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var cut = new CuttableLeaseStore(new MemoryLeaseStore(time));
        using var renewals = new LeaseRenewals(Microsoft.Extensions.Options.Options.Create(Options), time);
        await using var keeper = new LeaseKeeper(cut, renewals, NullLogger.Instance, "stream", "silo-a/session");
        Assert.True(await keeper.AcquireAsync(default));
        var killed = false;
        keeper.OnFenced(() => killed = true);
        keeper.OnFenced(() => throw new ObjectDisposedException("a process let go of before the fence"));

        // The store goes silent; the deadline passes and the fence fires from its timer. The fake clock runs timer
        // callbacks on this thread, so an exception that escaped the callbacks would fail this test (on a silo,
        // it would be unhandled on a timer thread: the process would end).
        cut.Cut = true;
        for (var step = 0; step < 40 && !keeper.Fenced.IsCancellationRequested; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
        }

        Assert.True(keeper.Fenced.IsCancellationRequested);
        Assert.True(killed);
    }

    /// <summary>A lease store whose renewals hang (until cancelled) while <see cref="Cut"/> is set.</summary>
    private sealed class CuttableLeaseStore(ILeaseStore inner) : ILeaseStore
    {
        public volatile bool Cut;

        public Task<Lease> AcquireAsync(string resource, string holder, TimeSpan ttl, CancellationToken cancellationToken) => inner.AcquireAsync(resource, holder, ttl, cancellationToken);

        public async Task<bool> RenewAsync(string resource, Lease lease, TimeSpan ttl, CancellationToken cancellationToken)
        {
            if (Cut)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return await inner.RenewAsync(resource, lease, ttl, cancellationToken);
        }

        public Task ReleaseAsync(string resource, Lease lease, CancellationToken cancellationToken) => inner.ReleaseAsync(resource, lease, cancellationToken);
    }
}
