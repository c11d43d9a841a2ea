using System.Diagnostics.Metrics;
using LiveStream.Options;
using LiveStream.Telemetry;
using Microsoft.Extensions.Options;

namespace LiveStream.Capacity;

/// <summary>
/// This silo's admission ledger: the cost of each live session on it, by stream id. Admission checks and updates
/// are atomic (stream grains run concurrently on the silo's threads).
/// </summary>
public sealed class SiloCapacity
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _costs = new(StringComparer.Ordinal);
    private int _used;

    public SiloCapacity(IOptions<AdmissionOptions> options, IMeterFactory meterFactory)
    {
        CapacityUnits = options.Value.EffectiveCapacityUnits;

        // The factory hands out the one LiveStream meter; these two gauges are each silo's load for dashboards.
        var meter = meterFactory.Create(LiveStreamInstruments.Name);
        meter.CreateObservableGauge("livestream.capacity.units", () => CapacityUnits, description: "This silo's admission capacity in cost units.");
        meter.CreateObservableGauge("livestream.capacity.used", () => UsedUnits, description: "Cost units the live sessions on this silo use.");
    }

    /// <summary>Capacity in cost units.</summary>
    public int CapacityUnits { get; }

    /// <summary>Units the live sessions use now.</summary>
    public int UsedUnits
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    /// <summary>Live sessions counted here.</summary>
    public int Sessions
    {
        get
        {
            lock (_lock)
            {
                return _costs.Count;
            }
        }
    }

    /// <summary>True while a session of <paramref name="streamId"/> is counted here.</summary>
    public bool Holds(string streamId)
    {
        lock (_lock)
        {
            return _costs.ContainsKey(streamId);
        }
    }

    /// <summary>Counts a new session of <paramref name="streamId"/> at <paramref name="cost"/> when it fits; false when it does not.</summary>
    public bool TryAdmit(string streamId, int cost)
    {
        lock (_lock)
        {
            var current = _costs.GetValueOrDefault(streamId);
            if (cost > 0 && _used - current + cost > CapacityUnits)
            {
                return false;
            }

            Set(streamId, cost, current);
            return true;
        }
    }

    /// <summary>Sets the cost of a session already admitted (its media is known now, or it moved here): never refused.</summary>
    public void Update(string streamId, int cost)
    {
        lock (_lock)
        {
            Set(streamId, cost, _costs.GetValueOrDefault(streamId));
        }
    }

    /// <summary>The session of <paramref name="streamId"/> left this silo.</summary>
    public void Release(string streamId)
    {
        lock (_lock)
        {
            if (_costs.Remove(streamId, out var cost))
            {
                _used -= cost;
            }
        }
    }

    /// <summary>A snapshot of this silo's load.</summary>
    public SiloLoad Snapshot(string silo, DateTimeOffset now)
    {
        lock (_lock)
        {
            return new SiloLoad(silo, CapacityUnits, _used, _costs.Count, now);
        }
    }

    private void Set(string streamId, int cost, int current)
    {
        _costs[streamId] = cost;
        _used += cost - current;
    }
}
