using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;

namespace LiveStream.Testing;

/// <summary>
/// A stream grain for a gateway connection without a cluster: a subclass answers writes and disconnects; every
/// other method is not part of a connection's life and throws.
/// </summary>
public abstract class StandInStreamGrain : IStreamGrain
{
    public abstract ValueTask<WriteResult> WriteAsync(ChunkWrite write);

    public virtual Task DisconnectAsync(int epoch, DisconnectKind kind, int closeCode) => Task.CompletedTask;

    public virtual Task AttachAsync(int epoch, IPublisherObserver observer) => Task.CompletedTask;

    public Task<StreamInfo> CreateAsync(CreateStreamCommand command) => throw new NotSupportedException();

    public Task<StreamInfo?> GetAsync() => throw new NotSupportedException();

    public Task<StreamInfo?> UpdateAsync(UpdateStreamCommand command) => throw new NotSupportedException();

    public Task<bool> RotateKeyAsync(byte[] newKeyHash, bool keepForLiveSession) => throw new NotSupportedException();

    public Task<bool> DeleteAsync() => throw new NotSupportedException();

    public Task<SessionStatus?> StopSessionAsync(string sessionId) => throw new NotSupportedException();

    public Task<ConnectResult> ConnectAsync(ConnectRequest request) => throw new NotSupportedException();

    public Task<SessionStatus?> GetSessionAsync(string sessionId) => throw new NotSupportedException();

    public Task<IReadOnlyList<SessionStatus>> ListSessionsAsync() => throw new NotSupportedException();

    public Task WakeAsync() => Task.CompletedTask;

    public Task<ArchiveRead> ReadArchiveAsync(string sessionId, long offset, int maxBytes) => throw new NotSupportedException();

    public GrainId GetGrainId() => throw new NotSupportedException();
}
