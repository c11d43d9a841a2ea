using Orleans.Metadata;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace LiveStream.Capacity;

/// <summary>Places a grain on the compatible silo with the most free admission units.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class CapacityPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static readonly CapacityPlacement Instance = new();
}

/// <summary>Marks a grain class for <see cref="CapacityPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class CapacityPlacementAttribute() : PlacementAttribute(CapacityPlacement.Instance);

/// <summary>
/// Picks, among the silos that can host the grain, one with free admission units, at random weighted by its free
/// units in this silo's view of the cluster (so sessions starting together on a stale view still spread out); when
/// none has room, the one with the most. A silo that has not reported yet (it just joined) counts as empty. This
/// silo's own figure is read live.
/// </summary>
internal sealed class CapacityPlacementDirector(SiloCapacity capacity, ClusterCapacityView view, ILocalSiloDetails localSilo) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, silos) is { } hint)
        {
            return Task.FromResult(hint);
        }

        var free = new int[silos.Length];
        long total = 0;
        for (var i = 0; i < silos.Length; i++)
        {
            free[i] = silos[i].Equals(localSilo.SiloAddress)
                ? capacity.CapacityUnits - capacity.UsedUnits
                : view.FreeUnits(silos[i].ToParsableString()) ?? capacity.CapacityUnits;
            total += Math.Max(0, free[i]);
        }

        if (total == 0)
        {
            return Task.FromResult(silos[Array.IndexOf(free, free.Max())]);
        }

        var pick = Random.Shared.NextInt64(total);
        for (var i = 0; i < silos.Length; i++)
        {
            pick -= Math.Max(0, free[i]);
            if (pick < 0)
            {
                return Task.FromResult(silos[i]);
            }
        }

        return Task.FromResult(silos[^1]);
    }
}
