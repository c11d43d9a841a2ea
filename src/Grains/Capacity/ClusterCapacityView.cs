namespace LiveStream.Capacity;

/// <summary>
/// This silo's view of every silo's load, refreshed by <see cref="CapacityReporter"/> once per report interval.
/// Placement reads it without a call; admission itself only trusts the local <see cref="SiloCapacity"/>.
/// </summary>
public sealed class ClusterCapacityView
{
    private volatile IReadOnlyDictionary<string, SiloLoad> _loads = new Dictionary<string, SiloLoad>();

    /// <summary>The latest loads by silo address (Orleans' parsable form).</summary>
    public IReadOnlyDictionary<string, SiloLoad> Loads => _loads;

    /// <summary>Replaces the view.</summary>
    public void Set(IEnumerable<SiloLoad> loads) => _loads = loads.ToDictionary(l => l.Silo, StringComparer.Ordinal);

    /// <summary>Free units of <paramref name="silo"/> as last reported, or null when it has not reported.</summary>
    public int? FreeUnits(string silo) => _loads.TryGetValue(silo, out var load) ? load.FreeUnits : null;
}
