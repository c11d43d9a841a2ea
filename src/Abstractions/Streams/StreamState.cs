namespace LiveStream.Streams;

/// <summary>Whether a stream is being broadcast now.</summary>
[GenerateSerializer, Alias("livestream.StreamState")]
public enum StreamState
{
    /// <summary>No live session.</summary>
    Idle = 0,

    /// <summary>A session is live with a connected publisher.</summary>
    Live = 1,

    /// <summary>A session is live but its publisher is gone; it waits for a reconnect.</summary>
    Disconnected = 2,
}
