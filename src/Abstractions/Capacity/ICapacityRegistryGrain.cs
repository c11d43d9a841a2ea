using Orleans.Concurrency;

namespace LiveStream.Capacity;

/// <summary>
/// Where silos share their admission load, so every silo's placement can prefer a silo with room. One activation
/// (key 0); it holds only the latest report of each silo, in memory: lost with its silo, refilled within one
/// report interval.
/// </summary>
[Alias("livestream.capacity")]
public interface ICapacityRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Records <paramref name="load"/> and answers every silo's latest report younger than <paramref name="maxAge"/>.</summary>
    [Alias("report")]
    Task<IReadOnlyList<SiloLoad>> ReportAsync(SiloLoad load, TimeSpan maxAge);

    /// <summary>Every silo's latest report younger than <paramref name="maxAge"/>.</summary>
    [Alias("loads"), AlwaysInterleave]
    Task<IReadOnlyList<SiloLoad>> GetLoadsAsync(TimeSpan maxAge);
}
