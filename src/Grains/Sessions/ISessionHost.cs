using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>
/// What a live session needs from the grain that routes to it: the stream's stored record, grain timers, webhook
/// events, and word of the session's close. The grain holds the session; the session holds its resources.
/// </summary>
internal interface ISessionHost
{
    string StreamId { get; }

    /// <summary>This silo, as lease holders and session status name it.</summary>
    SiloAddress Silo { get; }

    /// <summary>The stream's record; the session's own record is one of its sessions.</summary>
    StreamRecord Stream { get; }

    /// <summary>Writes the stream's record.</summary>
    Task SaveStreamAsync();

    /// <summary>Reads the stream's record again (another silo may have written it).</summary>
    Task ReloadStreamAsync();

    /// <summary>Starts a grain timer (first due after <paramref name="interval"/>); disposing it stops it.</summary>
    IGrainTimer StartTimer(Func<CancellationToken, Task> tick, TimeSpan interval);

    /// <summary>Reports a lifecycle event to the webhook receivers (never waits).</summary>
    void Emit(string type, string sessionId, string? reason = null, int? closeCode = null, string? output = null);

    /// <summary>The session closed; <paramref name="durable"/> is false when its end still has to be stored.</summary>
    void Closed(LiveSession session, SessionClose how, bool durable);
}

/// <summary>The ways a live session closes, all through <see cref="LiveSession.CloseAsync"/>.</summary>
internal enum SessionClose
{
    /// <summary>Ended: FFmpeg finalises its outputs, the end is stored.</summary>
    End,

    /// <summary>Failed: as <see cref="End"/>, with state failed.</summary>
    Fail,

    /// <summary>Handed to another activation: FFmpeg killed (outputs go on), failover record stored, lease released.</summary>
    HandOff,

    /// <summary>Its lease is no longer proven: everything killed at once, nothing stored (the new owner writes).</summary>
    Lost,
}
