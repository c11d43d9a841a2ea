namespace LiveStream.Capacity;

/// <summary>The latest load report of each silo, in memory (see <see cref="ICapacityRegistryGrain"/>).</summary>
[GrainType("livestream.capacity")]
internal sealed class CapacityRegistryGrain(TimeProvider time) : Grain, ICapacityRegistryGrain
{
    private readonly Dictionary<string, SiloLoad> _loads = new(StringComparer.Ordinal);

    public Task<IReadOnlyList<SiloLoad>> ReportAsync(SiloLoad load, TimeSpan maxAge)
    {
        _loads[load.Silo] = load with { ReportedAt = time.GetUtcNow() };
        return GetLoadsAsync(maxAge);
    }

    public Task<IReadOnlyList<SiloLoad>> GetLoadsAsync(TimeSpan maxAge)
    {
        var oldest = time.GetUtcNow() - maxAge;
        foreach (var stale in _loads.Values.Where(l => l.ReportedAt < oldest).Select(l => l.Silo).ToList())
        {
            _loads.Remove(stale);
        }

        return Task.FromResult<IReadOnlyList<SiloLoad>>([.. _loads.Values]);
    }
}
