namespace LiveStream.Options;

/// <summary>The per-stream lease that guarantees one FFmpeg cluster-wide (section <c>LiveStream:Lease</c>).</summary>
public sealed class LeaseOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Lease";

    /// <summary>
    /// How long a lease lives without renewal. A holder that cannot renew keeps its FFmpeg until this much time
    /// has passed since its last renewal, then stops it; so it must be longer than the Redis outage the cluster
    /// should ride out. Default 20 s.
    /// </summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How often a holder renews. Default 5 s.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(5);
}
