using LiveStream.Sessions;
using System.Buffers;
using LiveStream.Streams;
using Microsoft.Extensions.Logging;

namespace LiveStream.Media;

/// <summary>
/// A session's RTMP targets. The session's FFmpeg encodes once for all of them and writes FLV to stdout; this reads
/// it tag by tag and offers each tag to every target's <see cref="RtmpRelay"/>, which queues it in its own bounded
/// buffer or skips it. It never waits for a relay, so a slow or dead target cannot stall the encoder (or HLS).
/// </summary>
internal sealed partial class SimulcastFanOut : IAsyncDisposable
{
    private readonly RtmpRelay[] _relays;
    private readonly Dictionary<int, RtmpRelay> _byOutput = [];
    private readonly ILogger _logger;
    private readonly string _sessionId;

    public SimulcastFanOut(string sessionId, IReadOnlyList<OutputSpec> outputs, SimulcastContext context)
    {
        _sessionId = sessionId;
        _logger = context.Logger;
        for (var i = 0; i < outputs.Count; i++)
        {
            if (outputs[i] is { Type: OutputType.Rtmp, Url: { } url })
            {
                _byOutput[i] = new RtmpRelay(sessionId, i, url, context);
            }
        }

        _relays = [.. _byOutput.Values];
        foreach (var relay in _relays)
        {
            relay.Start();
        }
    }

    /// <summary>The relay of output <paramref name="index"/>, if that output is an RTMP target.</summary>
    public RtmpRelay? Relay(int index) => _byOutput.GetValueOrDefault(index);

    /// <summary>Reads one encoder's stdout to its end (an encoder blocks when its stdout is not read).</summary>
    public async Task ReadAsync(Stream source, CancellationToken cancellationToken)
    {
        var fileHeader = new byte[FlvTag.FileHeaderLength];
        var tagHeader = new byte[FlvTag.TagHeaderLength];
        try
        {
            await source.ReadExactlyAsync(fileHeader, cancellationToken);
            if (!FlvTag.IsFileHeader(fileHeader))
            {
                throw new InvalidDataException("not an FLV stream");
            }

            var head = new FlvStreamHead(fileHeader);
            foreach (var relay in _relays)
            {
                relay.NewStream();
            }

            while (true)
            {
                try
                {
                    await source.ReadExactlyAsync(tagHeader, cancellationToken);
                }
                catch (EndOfStreamException)
                {
                    return;
                }

                var length = FlvTag.TagHeaderLength + FlvTag.DataSize(tagHeader) + FlvTag.TrailerLength;
                var unit = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    tagHeader.CopyTo(unit, 0);
                    await source.ReadExactlyAsync(unit.AsMemory(FlvTag.TagHeaderLength, length - FlvTag.TagHeaderLength), cancellationToken);
                    Dispatch(unit.AsSpan(0, length), head);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(unit);
                }
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException)
        {
            // A truncated tag at the end is an encoder that died; anything else is a bug. Either way, keep reading
            // so the encoder (and HLS) is never blocked on its stdout.
            LogUnreadable(_logger, _sessionId, ex.Message);
            await source.CopyToAsync(Stream.Null, cancellationToken);
        }
    }

    /// <summary>The status of output <paramref name="index"/>, when it is an RTMP target.</summary>
    public OutputStatus? Status(int index) => Relay(index)?.Status();

    /// <summary>Lets every relay send what it has and finish (the encoder has finished).</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.WhenAll(_relays.Select(r => r.StopAsync(cancellationToken)));

    /// <summary>Kills every relay at once (the session was fenced off). Any thread.</summary>
    public void Kill()
    {
        foreach (var relay in _relays)
        {
            relay.Kill();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var relay in _relays)
        {
            await relay.DisposeAsync();
        }
    }

    private void Dispatch(ReadOnlySpan<byte> unit, FlvStreamHead head)
    {
        var kind = FlvTag.Classify(unit);
        switch (kind)
        {
            case FlvTagKind.Metadata:
                head.Metadata ??= unit.ToArray();
                break;
            case FlvTagKind.VideoConfig:
                head.VideoConfig = unit.ToArray();
                break;
            case FlvTagKind.AudioConfig:
                head.AudioConfig = unit.ToArray();
                break;
        }

        foreach (var relay in _relays)
        {
            relay.Offer(unit, kind, head);
        }
    }

    [LoggerMessage(EventId = 3405, Level = LogLevel.Warning, Message = "The relay stream of session {SessionId} ended unreadably ({Reason}); the rest is discarded")]
    private static partial void LogUnreadable(ILogger logger, string sessionId, string reason);
}
