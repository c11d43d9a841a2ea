using LiveStream.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace LiveStream.Grains.Tests;

/// <summary>
/// The embedded default's grain storage: the version it remembers after a write is the file's, a stale ETag is refused
/// whether the version was remembered or read from the file, and writes to different grains run side by side.
/// </summary>
public sealed class FileGrainStorageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("livestream-filestorage-").FullName;
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();

    private Serializer Serializer => _services.GetRequiredService<Serializer>();

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Each_write_needs_the_etag_of_the_last_and_a_new_process_reads_the_version_from_the_file()
    {
        var grain = GrainId.Create("stream", "a");
        using (var storage = new FileGrainStorage(_root, Serializer, FileGrainStorage.DefaultIoConcurrency))
        {
            var state = new GrainState<List<int>>([1]);
            await storage.WriteStateAsync("s", grain, state);
            var stale = new GrainState<List<int>>([2]) { ETag = state.ETag };
            state.State = [1, 2];
            await storage.WriteStateAsync("s", grain, state);

            // A second writer with the first ETag is refused: the version moved on.
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", grain, stale));
            await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", grain, new GrainState<List<int>>([3])));
            Assert.Equal("2", state.ETag);
        }

        // A new process knows nothing in memory: it checks against the file.
        using (var restarted = new FileGrainStorage(_root, Serializer, FileGrainStorage.DefaultIoConcurrency))
        {
            var read = new GrainState<List<int>>();
            await restarted.ReadStateAsync("s", grain, read);
            Assert.Equal(("1,2", "2", true), (string.Join(",", read.State!), read.ETag, read.RecordExists));
            await Assert.ThrowsAsync<InconsistentStateException>(() => restarted.WriteStateAsync("s", grain, new GrainState<List<int>>([4]) { ETag = "1" }));
            await restarted.WriteStateAsync("s", grain, read);
            Assert.Equal("3", read.ETag);

            // Cleared, the record starts again from nothing; the old ETag no longer writes.
            await restarted.ClearStateAsync("s", grain, read);
            await Assert.ThrowsAsync<InconsistentStateException>(() => restarted.WriteStateAsync("s", grain, new GrainState<List<int>>([5]) { ETag = "3" }));
            var fresh = new GrainState<List<int>>([6]);
            await restarted.WriteStateAsync("s", grain, fresh);
            Assert.Equal("1", fresh.ETag);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Writes_of_many_grains_at_once_each_land_with_their_own_version_with_at_most_the_io_slots_in_the_kernel(int slots)
    {
        using var storage = new FileGrainStorage(_root, Serializer, slots);
        var states = Enumerable.Range(0, 200).Select(i => (Grain: GrainId.Create("stream", $"g{i}"), State: new GrainState<List<int>>([i]))).ToArray();
        for (var round = 0; round < 3; round++)
        {
            // From many threads at once, as a burst of grains ending together writes.
            await Parallel.ForEachAsync(states, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (s, _) => await storage.WriteStateAsync("s", s.Grain, s.State));
        }

        Assert.InRange(storage.PeakIo, 1, slots);

        foreach (var (grain, state) in states)
        {
            var read = new GrainState<List<int>>();
            await storage.ReadStateAsync("s", grain, read);
            Assert.Equal((string.Join(",", state.State!), "3"), (string.Join(",", read.State!), read.ETag));
        }
    }
}
