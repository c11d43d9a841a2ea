using System.Diagnostics;
using System.Net.WebSockets;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A <c>livestream.v1</c> publisher that goes on through a fault the way a browser client should: each chunk of a
/// capture is sent when the recorder produced it (its <c>msSinceStart</c>); when the socket closes, it reconnects
/// at once through another gateway (then every 200 ms while refused) and resends from <c>hello.resumeFrom</c> in
/// the original chunk boundaries. Every server acknowledgement (an <c>ack</c>, or the <c>resumeFrom</c> of a
/// <c>hello</c>) is timed.
/// </summary>
public sealed class ResumingPublisher(
    MediaCapture capture,
    CreatedStream stream,
    Func<IReadOnlyList<Uri>> gateways,
    int firstGateway,
    Action<string> onSession) : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ReconnectDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan AckDeadline = TimeSpan.FromSeconds(60);

    private readonly long[] _chunkEnds = ChunkEnds(capture);
    private readonly Lock _lock = new();
    private readonly List<ServerAck> _acks = [];
    private readonly List<Connection> _connections = [];
    private readonly List<string> _refusals = [];
    private long _startedAt;
    private V1Publisher? _current;
    private Uri? _currentGateway;
    private long _sentTo;
    private long _acked;

    /// <summary>Bytes of the capture.</summary>
    public long Total => capture.Bytes.Length;

    /// <summary>The highest offset the server has acknowledged.</summary>
    public long Acked => Interlocked.Read(ref _acked);

    /// <summary>The gateway the current connection goes through.</summary>
    public Uri? CurrentGateway => _currentGateway;

    /// <summary>The session of the current connection.</summary>
    public string? SessionId => _current?.SessionId;

    /// <summary>Chunks in the capture.</summary>
    public int ChunkCount => _chunkEnds.Length;

    /// <summary>Offset where chunk <paramref name="index"/> starts.</summary>
    public long ChunkStart(int index) => index == 0 ? 0 : _chunkEnds[index - 1];

    /// <summary>Offset where chunk <paramref name="index"/> ends.</summary>
    public long ChunkEnd(int index) => _chunkEnds[index];

    /// <summary>When chunk <paramref name="index"/> is due (the recorder produced it), as a <see cref="Stopwatch"/> timestamp.</summary>
    public long DueAt(int index) => _startedAt + (long)(capture.ChunkTimesMs[index] * Stopwatch.Frequency / 1000);

    /// <summary>Every acknowledgement, in arrival order.</summary>
    public IReadOnlyList<ServerAck> Acks
    {
        get
        {
            lock (_lock)
            {
                return [.. _acks];
            }
        }
    }

    /// <summary>Every accepted connection, in order.</summary>
    public IReadOnlyList<Connection> Connections
    {
        get
        {
            lock (_lock)
            {
                return [.. _connections];
            }
        }
    }

    /// <summary>Connection attempts that were refused or failed, as "code: reason" texts.</summary>
    public IReadOnlyList<string> Refusals
    {
        get
        {
            lock (_lock)
            {
                return [.. _refusals];
            }
        }
    }

    /// <summary>The close code of the server's answer to <c>end</c>.</summary>
    public int? EndCloseCode { get; private set; }

    /// <summary>
    /// Publishes the whole capture, then sends <c>end</c> once every byte is acknowledged.
    /// <paramref name="beforeChunk"/> runs when a chunk is due, before it is sent (the harness injects its fault there).
    /// </summary>
    public async Task RunAsync(Func<int, CancellationToken, Task> beforeChunk, bool paced, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        _startedAt = Stopwatch.GetTimestamp();
        for (var i = 0; i < _chunkEnds.Length; i++)
        {
            var due = TimeSpan.FromMilliseconds(capture.ChunkTimesMs[i]);
            // The time left is read once per round: a reconnect can take it past due.
            for (var left = due - clock.Elapsed; paced && left > TimeSpan.Zero; left = due - clock.Elapsed)
            {
                // A browser hears the close at once (onclose), not at its next chunk: reconnect and resend meanwhile.
                var wait = Task.Delay(left, cancellationToken);
                if (_current is { ServerClose: var closed } && await Task.WhenAny(wait, closed) == closed)
                {
                    await SendUpToAsync(i == 0 ? 0 : _chunkEnds[i - 1], cancellationToken);
                }
                else
                {
                    await wait;
                }
            }

            await beforeChunk(i, cancellationToken);
            await SendUpToAsync(_chunkEnds[i], cancellationToken);
        }

        var deadline = Stopwatch.StartNew();
        while (Acked < Total)
        {
            if (deadline.Elapsed > AckDeadline)
            {
                throw new TimeoutException($"acknowledged {Acked} of {Total} bytes {AckDeadline.TotalSeconds:0} s after the last chunk");
            }

            if (_current is null || _current.ServerClose.IsCompleted)
            {
                await SendUpToAsync(Total, cancellationToken);
            }
            else
            {
                await Task.WhenAny(_current.ServerClose, Task.Delay(20, cancellationToken));
            }
        }

        await _current!.EndAsync();
        var close = await _current.ServerClose.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        EndCloseCode = (int?)close?.CloseStatus;
    }

    /// <summary>Waits until the server has acknowledged <paramref name="offset"/> bytes.</summary>
    public Task WaitAckedAsync(long offset, TimeSpan timeout) => Eventually.HoldsAsync(() => Acked >= offset, timeout, $"an ack of {offset}");

    public async ValueTask DisposeAsync()
    {
        if (_current is not null)
        {
            await _current.DisposeAsync();
        }
    }

    /// <summary>Makes sure the current connection has been sent every byte below <paramref name="end"/>, reconnecting as needed.</summary>
    private async Task SendUpToAsync(long end, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (_current is null || _current.ServerClose.IsCompleted)
            {
                if (attempt >= 20)
                {
                    throw new InvalidOperationException($"gave up after {attempt} connections at offset {_sentTo}");
                }

                await ReconnectAsync(cancellationToken);
            }

            try
            {
                while (_sentTo < end)
                {
                    // Resend in the original chunk boundaries, from wherever the server's resumeFrom cut a chunk.
                    var chunk = Array.FindIndex(_chunkEnds, e => e > _sentTo);
                    var upTo = Math.Min(_chunkEnds[chunk], end);
                    await _current!.SendAsync(_sentTo, capture.Bytes.AsMemory((int)_sentTo, (int)(upTo - _sentTo)), cancellationToken);
                    _sentTo = upTo;
                }

                return;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The socket went away under the send: the next round reconnects.
                await _current!.DisposeAsync();
                _current = null;
            }
        }
    }

    private async Task ReconnectAsync(CancellationToken cancellationToken)
    {
        var previous = _current;
        var close = previous is null ? null : await previous.ServerClose;
        var closedWith = close is null ? null : $"{(int?)close.CloseStatus} {close.CloseStatusDescription}";
        if (previous is not null)
        {
            await previous.DisposeAsync();
            _current = null;
        }

        var started = Stopwatch.StartNew();
        for (var attempt = 0; started.Elapsed < ReconnectDeadline; attempt++)
        {
            var gateway = PickGateway(attempt);
            try
            {
                var connection = await V1Publisher.ConnectAsync(stream.IngestUrlOn(gateway), OnAck, cancellationToken);
                _current = connection;
                _currentGateway = gateway;
                _sentTo = connection.ResumeFrom;
                onSession(connection.SessionId);
                var at = Stopwatch.GetTimestamp();
                OnAck(connection.ResumeFrom, at, fromHello: true);
                lock (_lock)
                {
                    _connections.Add(new Connection(at, gateway, connection.SessionId, connection.ResumeFrom, closedWith));
                }

                return;
            }
            catch (Exception ex) when (ex is PublisherRefusedException or WebSocketException or HttpRequestException or InvalidOperationException
                or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                lock (_lock)
                {
                    _refusals.Add(ex is PublisherRefusedException refused ? $"{refused.CloseCode}" : ex.GetType().Name);
                }

                await Task.Delay(RetryDelay, cancellationToken);
            }
        }

        throw new TimeoutException($"no gateway accepted a reconnect within {ReconnectDeadline.TotalSeconds:0} s");
    }

    /// <summary>The first connection goes to the run's gateway; a reconnect to another one than the last.</summary>
    private Uri PickGateway(int attempt)
    {
        var live = gateways();
        if (_currentGateway is null)
        {
            return live[(firstGateway + attempt) % live.Count];
        }

        var others = live.Where(g => g != _currentGateway).ToList();
        return others.Count > 0 ? others[attempt % others.Count] : live[attempt % live.Count];
    }

    private void OnAck(long offset) => OnAck(offset, Stopwatch.GetTimestamp(), fromHello: false);

    private void OnAck(long offset, long at, bool fromHello)
    {
        lock (_lock)
        {
            _acks.Add(new ServerAck(at, offset, fromHello));
            if (offset > _acked)
            {
                Interlocked.Exchange(ref _acked, offset);
            }
        }
    }

    private static long[] ChunkEnds(MediaCapture capture)
    {
        var ends = new long[capture.ChunkSizes.Count];
        long end = 0;
        for (var i = 0; i < ends.Length; i++)
        {
            end += capture.ChunkSizes[i];
            ends[i] = end;
        }

        return ends;
    }

    /// <summary>The server acknowledged <paramref name="Offset"/> bytes at <paramref name="At"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public readonly record struct ServerAck(long At, long Offset, bool FromHello);

    /// <summary>A connection the server accepted; <paramref name="PreviousClose"/> is how the server closed the one before it (code and reason).</summary>
    public sealed record Connection(long At, Uri Gateway, string SessionId, long ResumeFrom, string? PreviousClose);
}
