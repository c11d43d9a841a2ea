using Microsoft.Extensions.DependencyInjection;
using LiveStream.Storage;
using Orleans.Storage;

namespace LiveStream.Grains.Tests;

/// <summary>Which grain-state writes fail: a stand-in for a store that blips (Redis paused, a network cut).</summary>
public sealed class StorageFaults
{
    private int _failing;

    /// <summary>The state names whose writes fail while <see cref="Failing"/> is on, e.g. <c>live</c> or <c>stream</c>.</summary>
    public HashSet<string> StateNames { get; } = [];

    public bool Failing
    {
        get => Volatile.Read(ref _failing) == 1;
        set => Volatile.Write(ref _failing, value ? 1 : 0);
    }

    public int FailedWrites;

    /// <summary>Successful writes by state name.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, int> Written { get; } = new();

    public int WritesOf(string stateName) => Written.GetValueOrDefault(stateName);

    /// <summary>While set, writes of <see cref="StateNames"/> wait for it (a slow store) instead of failing.</summary>
    public TaskCompletionSource? Gate { get; set; }
}

/// <summary>Grain storage on files that fails the writes <see cref="StorageFaults"/> names while it is failing.</summary>
internal sealed class FlakyGrainStorage(IGrainStorage inner, StorageFaults faults) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (faults.Failing && faults.StateNames.Contains(stateName))
        {
            Interlocked.Increment(ref faults.FailedWrites);
            return Task.FromException(new TimeoutException("injected storage failure"));
        }

        return WriteAsync(stateName, grainId, grainState);
    }

    private async Task WriteAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (faults.Gate is { } gate && faults.StateNames.Contains(stateName))
        {
            await gate.Task;
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
        faults.Written.AddOrUpdate(stateName, 1, (_, n) => n + 1);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    /// <summary>File storage under <paramref name="root"/>, made flaky by <paramref name="faults"/>.</summary>
    public static IGrainStorage Create(IServiceProvider services, string root, StorageFaults faults) =>
        new FlakyGrainStorage(new FileGrainStorage(root, services.GetRequiredService<Orleans.Serialization.Serializer>(), FileGrainStorage.DefaultIoConcurrency), faults);
}
