namespace LiveStream.Sessions;

/// <summary>Where a session is in its life.</summary>
[GenerateSerializer, Alias("livestream.SessionState")]
public enum SessionState
{
    /// <summary>A publisher is connected and media flows.</summary>
    Active = 0,

    /// <summary>The publisher is gone; the session waits for a reconnect within its window.</summary>
    Disconnected = 1,

    /// <summary>Ended normally; outputs are finalised.</summary>
    Ended = 2,

    /// <summary>Ended by an error (bad media, FFmpeg failing).</summary>
    Failed = 3,
}
