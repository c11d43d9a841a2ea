namespace LiveStream.Options;

/// <summary>How a session's RTMP targets are fed (section <c>LiveStream:Simulcast</c>).</summary>
public sealed class SimulcastOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Simulcast";

    /// <summary>
    /// Bytes queued for one RTMP target's relay. A relay that falls this far behind drops its backlog and rejoins at
    /// the next keyframe; the encoder never waits for it. Default 4 MiB.
    /// </summary>
    public int RelayBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Longest wait before a failed relay is started again (the wait doubles from 1 s). Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Restarts of one target's relay within a session before the target is marked failed; 0 retries forever. Default 0.</summary>
    public int MaxRelayRestarts { get; set; }
}
