using Orleans.Concurrency;

namespace LiveStream.Ingest;

/// <summary>
/// The gateway side of one publisher connection. The stream grain tells it when the connection must close
/// (superseded by a newer publisher, ended by the operator), even while the socket is idle.
/// </summary>
[Alias("livestream.publisher")]
public interface IPublisherObserver : IGrainObserver
{
    /// <summary>Close the connection of <paramref name="epoch"/> with <paramref name="closeCode"/> and <paramref name="reason"/>.</summary>
    [OneWay, Alias("close")]
    Task CloseAsync(int epoch, int closeCode, string reason);
}
