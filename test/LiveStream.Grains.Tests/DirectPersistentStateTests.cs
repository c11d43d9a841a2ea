using LiveStream.Sessions;
using LiveStream.Storage;
using LiveStream.Streams;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace LiveStream.Grains.Tests;

/// <summary>
/// The failover records' state, read and written on the provider itself: what it writes is the provider's record
/// under the same state name and grain id (as a <c>[PersistentState]</c> of that provider stores it), ETags are the
/// provider's, and a provider that is done at once completes the write at once (nothing is scheduled on the grain).
/// </summary>
public sealed class DirectPersistentStateTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
    private readonly GrainId _grain = GrainId.Create("livestream.stream", "s1");

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task A_write_to_a_provider_that_is_done_at_once_completes_at_once_and_lands_as_the_providers_record()
    {
        var storage = new ProcessMemoryGrainStorage(_services.GetRequiredService<DeepCopier>());
        var live = new DirectPersistentState<LiveRecord>(storage, "live", _grain);
        await live.ReadStateAsync();
        Assert.False(live.RecordExists);
        Assert.Equal(0, live.State.Committed);

        live.State.SessionId = "session";
        live.State.Committed = 62_500;
        var write = live.WriteStateAsync();

        Assert.True(write.IsCompletedSuccessfully);
        var stored = new GrainState<LiveRecord>();
        await storage.ReadStateAsync("live", _grain, stored);
        Assert.Equal(("session", 62_500L, live.Etag), (stored.State!.SessionId, stored.State.Committed, stored.ETag));

        // A second holder of the record with the first ETag is refused, as the provider refuses any stale writer.
        var other = new DirectPersistentState<LiveRecord>(storage, "live", _grain);
        await other.ReadStateAsync();
        live.State.Committed = 125_000;
        await live.WriteStateAsync();
        other.State.Committed = 1;
        await Assert.ThrowsAsync<InconsistentStateException>(other.WriteStateAsync);

        await live.ClearStateAsync();
        Assert.False(live.RecordExists);
    }
}
