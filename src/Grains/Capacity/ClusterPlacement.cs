using LiveStream.Ingest;
using LiveStream.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.Placement;

namespace LiveStream.Capacity;

/// <summary>Where a stream's session may run: this silo's room, the cluster's, and whether this silo is leaving.</summary>
internal sealed partial class ClusterPlacement(
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    IHostApplicationLifetime lifetime,
    SiloCapacity capacity,
    ClusterCapacityView clusterCapacity,
    ILogger<ClusterPlacement> logger)
{
    /// <summary>
    /// No room on this silo for a session of <paramref name="cost"/> units. When another active silo reported room,
    /// <paramref name="grain"/> migrates to the silo with the most and names it, and the gateway's retry follows it
    /// there; otherwise the cluster is full.
    /// </summary>
    public ConnectResult RefuseForCapacity(IGrainBase grain, int cost)
    {
        var streamId = grain.GrainContext.GrainId.Key.ToString()!;
        var snapshot = membership.CurrentSnapshot;
        var here = localSilo.SiloAddress.ToParsableString();
        var elsewhere = clusterCapacity.Loads.Values
            .Where(l => l.FreeUnits >= cost && l.Silo != here && snapshot.GetSiloStatus(SiloAddress.FromParsableString(l.Silo)) == SiloStatus.Active)
            .MaxBy(l => l.FreeUnits);
        if (elsewhere is not null)
        {
            // Migration (not a plain deactivation) moves the directory entry too, so callers that cached this
            // address follow it; the hint is captured with the request context and guides the placement director.
            LogNoRoomHere(logger, streamId, cost, capacity.UsedUnits, capacity.CapacityUnits);
            RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(elsewhere.Silo));
            try
            {
                grain.MigrateOnIdle();
            }
            finally
            {
                RequestContext.Remove(IPlacementDirector.PlacementHintKey);
            }

            return ConnectResult.NoRoomHere(elsewhere.Silo);
        }

        LogClusterFull(logger, streamId, cost, capacity.UsedUnits, capacity.CapacityUnits);
        return ConnectResult.Refused(CloseCodes.ClusterUnavailable, "cluster at capacity; retry later");
    }

    /// <summary>True when this silo's host is stopping, or membership no longer shows it active.</summary>
    public bool ThisSiloIsStopping() =>
        lifetime.ApplicationStopping.IsCancellationRequested
        || membership.CurrentSnapshot.GetSiloStatus(localSilo.SiloAddress) is not SiloStatus.Active;

    /// <summary>True when membership knows an active silo other than this one.</summary>
    public bool AnotherSiloIsActive() =>
        membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(localSilo.SiloAddress));

    [LoggerMessage(EventId = 3901, Level = LogLevel.Information, Message = "Stream {StreamId}: no room on this silo for a session of {Cost} units ({Used}/{Capacity} used); it moves to a silo with room")]
    private static partial void LogNoRoomHere(ILogger logger, string streamId, int cost, int used, int capacity);

    [LoggerMessage(EventId = 3902, Level = LogLevel.Warning, Message = "Stream {StreamId}: cluster at capacity, a session of {Cost} units refused with 4503 (this silo {Used}/{Capacity} used)")]
    private static partial void LogClusterFull(ILogger logger, string streamId, int cost, int used, int capacity);
}
