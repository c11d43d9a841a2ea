using LiveStream.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace LiveStream.Grains.Tests;

/// <summary>
/// The embedded default's failover storage (state in the process's memory): ETags as in any Orleans storage, a copy
/// stored and a copy read (a grain changing its state after a write does not change what is stored), and of two
/// writes with the same ETag exactly one lands.
/// </summary>
public sealed class ProcessMemoryGrainStorageTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
    private readonly GrainId _grain = GrainId.Create("stream", "a");

    private ProcessMemoryGrainStorage NewStorage() => new(_services.GetRequiredService<DeepCopier>());

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task Each_write_needs_the_etag_of_the_last_and_a_clear_starts_the_record_again()
    {
        var storage = NewStorage();
        var state = new GrainState<List<int>>([1]);
        await storage.WriteStateAsync("s", _grain, state);
        var stale = new GrainState<List<int>>([2]) { ETag = state.ETag };
        state.State = [1, 2];
        await storage.WriteStateAsync("s", _grain, state);
        Assert.Equal("2", state.ETag);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", _grain, stale));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", _grain, new GrainState<List<int>>([3])));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("s", _grain, new GrainState<List<int>>([]) { ETag = "1" }));

        // Another state name or grain is another record.
        await storage.WriteStateAsync("t", _grain, new GrainState<List<int>>([9]));
        await storage.WriteStateAsync("s", GrainId.Create("stream", "b"), new GrainState<List<int>>([9]));

        var read = new GrainState<List<int>>();
        await storage.ReadStateAsync("s", _grain, read);
        Assert.Equal(("1,2", "2", true), (string.Join(",", read.State!), read.ETag, read.RecordExists));

        await storage.ClearStateAsync("s", _grain, read);
        Assert.Equal((null, false), (read.ETag, read.RecordExists));
        var gone = new GrainState<List<int>>();
        await storage.ReadStateAsync("s", _grain, gone);
        Assert.Equal((0, null, false), (gone.State!.Count, gone.ETag, gone.RecordExists));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", _grain, new GrainState<List<int>>([5]) { ETag = "2" }));
        var fresh = new GrainState<List<int>>([6]);
        await storage.WriteStateAsync("s", _grain, fresh);
        Assert.Equal("1", fresh.ETag);
    }

    [Fact]
    public async Task What_is_stored_is_a_copy_on_the_way_in_and_on_the_way_out()
    {
        var storage = NewStorage();
        var state = new GrainState<List<int>>([1]);
        await storage.WriteStateAsync("s", _grain, state);
        state.State!.Add(2);

        var read = new GrainState<List<int>>();
        await storage.ReadStateAsync("s", _grain, read);
        read.State!.Add(3);
        var again = new GrainState<List<int>>();
        await storage.ReadStateAsync("s", _grain, again);
        Assert.Equal("1", string.Join(",", again.State!));
    }

    [Fact]
    public async Task Of_writes_racing_with_the_same_etag_exactly_one_lands()
    {
        var storage = NewStorage();
        var first = new GrainState<List<int>>([0]);
        await storage.WriteStateAsync("s", _grain, first);
        for (var round = 0; round < 50; round++)
        {
            var etag = first.ETag;
            var writers = Enumerable.Range(1, 8).Select(i => new GrainState<List<int>>([i]) { ETag = etag }).ToArray();
            var outcomes = await Task.WhenAll(writers.Select(w => Task.Run(async () =>
            {
                try
                {
                    await storage.WriteStateAsync("s", _grain, w);
                    return true;
                }
                catch (InconsistentStateException)
                {
                    return false;
                }
            })));
            Assert.Equal(1, outcomes.Count(o => o));
            first = writers[Array.IndexOf(outcomes, true)];
        }

        var read = new GrainState<List<int>>();
        await storage.ReadStateAsync("s", _grain, read);
        Assert.Equal(("51", string.Join(",", first.State!)), (read.ETag, string.Join(",", read.State!)));
    }
}
