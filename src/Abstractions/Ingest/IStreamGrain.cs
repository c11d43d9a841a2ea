using LiveStream.Sessions;
using Orleans.Concurrency;
using LiveStream.Streams;

namespace LiveStream.Ingest;

/// <summary>
/// One grain per stream, keyed by stream id (never by the key). It keeps the stream's definition, runs its one
/// live session and owns that session's FFmpeg process.
/// </summary>
[Alias("livestream.stream")]
public interface IStreamGrain : IGrainWithStringKey
{
    /// <summary>Creates the stream. Fails when it exists.</summary>
    [Alias("create")]
    Task<StreamInfo> CreateAsync(CreateStreamCommand command);

    /// <summary>The stream, or null when it does not exist. Read-only calls interleave, so status answers even while a turn waits on FFmpeg.</summary>
    [Alias("get"), AlwaysInterleave]
    Task<StreamInfo?> GetAsync();

    /// <summary>Changes the stream; null when it does not exist.</summary>
    [Alias("update")]
    Task<StreamInfo?> UpdateAsync(UpdateStreamCommand command);

    /// <summary>
    /// Replaces the key by the one hashing to <paramref name="newKeyHash"/>. The old key is refused at once, for new
    /// sessions, takeovers and reconnects; the publisher connected now goes on. With <paramref name="keepForLiveSession"/>
    /// the publisher of the session live now may still reconnect to it with the old key, until that session ends.
    /// False when the stream does not exist.
    /// </summary>
    [Alias("rotate-key")]
    Task<bool> RotateKeyAsync(byte[] newKeyHash, bool keepForLiveSession = false);

    /// <summary>
    /// Revokes the stream: a live session ends and its publisher is closed with 4410, the keys stop working and the
    /// stream's state is removed (its files stay). False when it does not exist.
    /// </summary>
    [Alias("delete")]
    Task<bool> DeleteAsync();

    /// <summary>
    /// Ends the session if it is live (the operator's stop: its publisher is closed with 4410). Returns the session,
    /// or null when the stream has no such session.
    /// </summary>
    [Alias("stop-session")]
    Task<SessionStatus?> StopSessionAsync(string sessionId);

    /// <summary>Admits a publisher: starts a session or joins the live one, with the next connection epoch.</summary>
    [Alias("connect")]
    Task<ConnectResult> ConnectAsync(ConnectRequest request);

    /// <summary>
    /// Commits bytes in offset order into the session's bounded buffer. Never waits on FFmpeg. A value task: a write
    /// that completes at once (the usual case) allocates no task on the silo.
    /// </summary>
    [Alias("write")]
    ValueTask<WriteResult> WriteAsync(ChunkWrite write);

    /// <summary>
    /// The publisher of <paramref name="epoch"/> is served by <paramref name="observer"/>. A session picked up on
    /// another silo by the publisher's next write (its silo died) has the connection but not whom to tell when it
    /// must close it; the gateway sends this once it sees the new owner's token. Nothing happens for another epoch.
    /// </summary>
    [Alias("attach")]
    Task AttachAsync(int epoch, IPublisherObserver observer);

    /// <summary>The publisher of <paramref name="epoch"/> is gone.</summary>
    [Alias("disconnect")]
    Task DisconnectAsync(int epoch, DisconnectKind kind, int closeCode);

    /// <summary>A session of this stream, or null.</summary>
    [Alias("session"), AlwaysInterleave]
    Task<SessionStatus?> GetSessionAsync(string sessionId);

    /// <summary>This stream's sessions, newest first.</summary>
    [Alias("sessions"), AlwaysInterleave]
    Task<IReadOnlyList<SessionStatus>> ListSessionsAsync();

    /// <summary>
    /// Activates the grain. A silo that shuts down hands its live sessions off and sends this to each of their
    /// grains, so another silo picks them up at once rather than at the publisher's next chunk.
    /// </summary>
    [Alias("wake"), OneWay]
    Task WakeAsync();

    /// <summary>Up to <paramref name="maxBytes"/> of a session's archive from <paramref name="offset"/>.</summary>
    [Alias("archive"), AlwaysInterleave]
    Task<ArchiveRead> ReadArchiveAsync(string sessionId, long offset, int maxBytes);
}
