using Orleans.Concurrency;

namespace LiveStream.Ingest;

/// <summary>
/// The gateway side of one publisher connection. The stream grain tells it when the connection must close
/// (superseded by a newer publisher, ended by the operator), even while the socket is idle.
/// </summary>
[Alias("livestream.publisher")]
public interface IPublisherObserver : IGrainObserver
{
    /// <summary>
    /// Close the connection of <paramref name="epoch"/> with <paramref name="closeCode"/> and <paramref name="reason"/>.
    /// <paramref name="owner"/> is the fencing token of the session's owner that asks: a connection that has been
    /// answered by a later owner (a larger token) ignores it, since the session has moved on without this owner.
    /// </summary>
    [OneWay, Alias("close")]
    Task CloseAsync(int epoch, int closeCode, string reason, long owner);
}
