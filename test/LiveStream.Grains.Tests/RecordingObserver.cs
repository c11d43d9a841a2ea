using System.Threading.Channels;
using LiveStream.Ingest;

namespace LiveStream.Grains.Tests;

/// <summary>A publisher's connection as the session sees it: records every close the session asks for.</summary>
internal sealed class RecordingObserver : IPublisherObserver
{
    private readonly Channel<(int Epoch, int Code, long Owner)> _closes = Channel.CreateUnbounded<(int, int, long)>();

    public Task CloseAsync(int epoch, int closeCode, string reason, long owner)
    {
        _closes.Writer.TryWrite((epoch, closeCode, owner));
        return Task.CompletedTask;
    }

    /// <summary>The next close asked for.</summary>
    public async Task<(int Epoch, int Code, long Owner)> NextCloseAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        return await _closes.Reader.ReadAsync(cancel.Token);
    }
}
