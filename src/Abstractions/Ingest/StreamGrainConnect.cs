using Orleans.Runtime.Placement;

namespace LiveStream.Ingest;

/// <summary>Connecting a publisher, following the stream to a silo with room.</summary>
public static class StreamGrainConnect
{
    /// <summary>Connect calls for one publisher while silos without room hand the stream on.</summary>
    public const int MaxPlacementAttempts = 3;

    /// <summary>
    /// Calls <see cref="IStreamGrain.ConnectAsync"/>. A silo without room lets the stream go and names a silo with
    /// room (<see cref="ConnectResult.RetryOnSilo"/>): the call is made again with that silo as placement hint, so
    /// the stream is activated there. Bounded: with a stale view of the cluster the last answer stands (4503, and
    /// the client retries).
    /// </summary>
    public static async Task<ConnectResult> ConnectPlacedAsync(this IStreamGrain grain, ConnectRequest request)
    {
        var connect = await grain.ConnectAsync(request);
        for (var attempt = 1; connect is { Accepted: false, RetryOnSilo: { } silo } && attempt < MaxPlacementAttempts; attempt++)
        {
            RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(silo));
            try
            {
                connect = await grain.ConnectAsync(request);
            }
            finally
            {
                RequestContext.Remove(IPlacementDirector.PlacementHintKey);
            }
        }

        return connect;
    }
}
