namespace LiveStream.Ingest;

/// <summary>Connecting a publisher, following the stream to a silo with room.</summary>
public static class StreamGrainConnect
{
    /// <summary>Connect calls for one publisher while silos without room hand the stream on.</summary>
    public const int MaxPlacementAttempts = 3;

    /// <summary>
    /// Calls <see cref="IStreamGrain.ConnectAsync"/>. A silo without room migrates the stream to a silo with room
    /// and says so (<see cref="ConnectResult.RetryOnSilo"/>): the call is made again, and Orleans delivers it to the
    /// migrated activation. Bounded: with a stale view of the cluster the last answer stands (4503, and the client
    /// retries).
    /// </summary>
    public static async Task<ConnectResult> ConnectPlacedAsync(this IStreamGrain grain, ConnectRequest request)
    {
        var connect = await grain.ConnectAsync(request);
        for (var attempt = 1; connect is { Accepted: false, RetryOnSilo: not null } && attempt < MaxPlacementAttempts; attempt++)
        {
            connect = await grain.ConnectAsync(request);
        }

        return connect;
    }
}
