namespace LiveStream.Streams;

/// <summary>Per-stream settings. Later issues add fields; none is ever renamed.</summary>
[GenerateSerializer, Immutable, Alias("livestream.StreamSettings")]
public sealed record StreamSettings(
    [property: Id(0)] int ReconnectWindowSeconds = StreamSettings.DefaultReconnectWindowSeconds,
    [property: Id(1)] DuplicatePolicy DuplicatePolicy = DuplicatePolicy.Takeover)
{
    /// <summary>Default reconnect window.</summary>
    public const int DefaultReconnectWindowSeconds = 30;

    /// <summary>Largest reconnect window a stream may ask for.</summary>
    public const int MaxReconnectWindowSeconds = 1800;
}

/// <summary>What happens when a second publisher connects to a stream that has one.</summary>
[GenerateSerializer, Alias("livestream.DuplicatePolicy")]
public enum DuplicatePolicy
{
    /// <summary>The newer connection wins; the older one is closed with 4409.</summary>
    Takeover = 0,

    /// <summary>The newer connection is refused with 4423.</summary>
    Reject = 1,
}
