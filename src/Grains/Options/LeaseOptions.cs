namespace LiveStream.Options;

/// <summary>
/// The per-stream lease that guarantees one FFmpeg cluster-wide (section <c>LiveStream:Lease</c>). The three
/// settings work together: a holder renews every <see cref="RenewInterval"/>; the store grants the lease to
/// somebody else only once <see cref="Ttl"/> has passed since the last renewal it applied; a holder that cannot
/// prove its lease stops every side effect (FFmpeg, relays, archive and HLS writes) <see cref="StopMargin"/> before
/// that, at <c>last renewal sent + Ttl - StopMargin</c>. A silo killed with -9 is therefore replaced at most
/// <see cref="Ttl"/> after its last renewal, and a silo cut off from the store (or paused) has stopped writing
/// before anyone else may start.
/// </summary>
public sealed class LeaseOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Lease";

    /// <summary>How long a lease lives in the store without renewal. Default 3 s.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often a holder renews. At most a third of <see cref="Ttl"/>. Default 1 s.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long before the store's expiry a holder that could not renew stops its side effects: covers killing
    /// FFmpeg and clock-rate differences between the silo and the store. Default 0.5 s.
    /// </summary>
    public TimeSpan StopMargin { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long after its last proven renewal a holder may still act: <c>Ttl - StopMargin</c>.</summary>
    public TimeSpan HoldFor => Ttl - StopMargin;
}
