using LiveStream.Ingest;
using LiveStream.Media.Containers;
using LiveStream.Storage;
using LiveStream.Webhooks;

namespace LiveStream.Sessions;

/// <summary>
/// The live session's tick: lease, FFmpeg's health and restarts, durability, quota, publisher liveness, the reconnect
/// window. It runs when something is due (see <see cref="NextTickAt"/>), not at a fixed rate.
/// </summary>
internal sealed partial class LiveSession
{
    private IReadOnlyList<TrackInfo>? _costedTracks;
    private long? _priorBytes;
    private DateTimeOffset _nextQuotaCheck;
    private DateTimeOffset _nextSample;

    private async Task OnTickAsync(CancellationToken cancellationToken)
    {
        _ticking = true;
        _woken = false;
        try
        {
            await TickAsync();
        }
        finally
        {
            _ticking = false;

            // Applied when this callback returns (a change made during a tick replaces the timer's period once).
            ScheduleTick(_woken ? _services.Time.GetUtcNow() : NextTickAt(_services.Time.GetUtcNow()));
        }
    }

    private async Task TickAsync()
    {
        if (_closed)
        {
            return;
        }

        if (!_lease.IsHeld)
        {
            await CloseAsync(SessionClose.Lost, "lease lost", CloseCodes.GatewayRestarting, "session moved; reconnect");
            return;
        }

        var sampledAt = _services.Time.GetUtcNow();
        if (sampledAt >= _nextSample)
        {
            _nextSample = sampledAt + _services.Session.IdleTickInterval;
            RecordSamples();
        }

        if (await OverQuotaAsync() || !await KeepProcessAsync())
        {
            return;
        }

        if (Durable < Committed)
        {
            // A write could not store its offset (a store blip): store it now, so a resend is acknowledged at once.
            await AcknowledgeAsync();
            if (_closed)
            {
                return;
            }
        }

        var now = _services.Time.GetUtcNow();
        if (Record.State == SessionState.Active && _services.Time.GetElapsedTime(_lastHeard) >= _services.Session.PublisherTimeout)
        {
            // Nothing from the publisher's gateway for this long (it was killed, or cut off): the window runs.
            LogPublisherSilent(_services.Logger, Record.Id, _services.Session.PublisherTimeout.TotalSeconds);
            NotifyPublisher(CloseCodes.GatewayRestarting, "publisher silent; reconnect");
            MarkDisconnected();
            await _host.SaveStreamAsync();
            _host.Emit(SessionEventTypes.Disconnected, Record.Id, closeCode: CloseCodes.GatewayRestarting);
        }
        else if (Record is { State: SessionState.Disconnected, DisconnectedAt: { } since }
            && now - since >= TimeSpan.FromSeconds(_host.Stream.Settings.ReconnectWindowSeconds))
        {
            await CloseAsync(SessionClose.End, "reconnect window expired", CloseCodes.Normal, publisherReason: null);
        }
    }

    /// <summary>
    /// Starts the FFmpeg the session waits for, unless its restart is backing off. A launch that throws (a missing
    /// binary, no file descriptors left) is retried with backoff within the restart budget; the commit that asked
    /// for it stands either way.
    /// </summary>
    private async Task EnsureProcessAsync()
    {
        if (_closed || !Pipeline.WaitsForProcess || _restarts.Waiting)
        {
            return;
        }

        try
        {
            _restarts.Attempting();
            await Pipeline.StartPendingProcessAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogLaunchFailed(_services.Logger, ex, Record.Id);
            Record.FfmpegLastError = "ffmpeg could not be started: " + ex.Message;
            if (!_restarts.TrySchedule())
            {
                await CloseAsync(SessionClose.Fail, Record.FfmpegLastError, CloseCodes.SessionFailed, "session failed");
            }
        }
    }

    /// <summary>A dead FFmpeg is replaced (with backoff) within the restart budget; false when the session failed for it.</summary>
    private async Task<bool> KeepProcessAsync()
    {
        if (Pipeline.Process is { Exited.IsCompleted: true } process)
        {
            var exitCode = await process.Exited;
            LogFfmpegDied(_services.Logger, Record.Id, process.Id, exitCode);
            _services.Instruments.OutputFailures.Add(1, new KeyValuePair<string, object?>("output", "ffmpeg"));
            _host.Emit(SessionEventTypes.OutputFailed, Record.Id, $"ffmpeg exited with code {exitCode}", output: "ffmpeg");
            Record.FfmpegLastError = process.StderrTail.LastOrDefault(l => l.Length > 0) ?? $"exited with code {exitCode}";
            if (!_restarts.TrySchedule())
            {
                // The stop is bounded by its own timeouts; it must not be cut short.
                await CloseAsync(SessionClose.Fail, $"ffmpeg exited with code {exitCode}", CloseCodes.SessionFailed, "session failed");
                return false;
            }

            // A new FFmpeg gets the init segment and the stream from the next keyframe; outputs continue.
            _services.Instruments.FfmpegRestarts.Add(1, new KeyValuePair<string, object?>("reason", "exited"));
            await Pipeline.ReplaceDeadProcessAsync();
        }

        await EnsureProcessAsync();
        return !_closed;
    }

    /// <summary>
    /// Measures the stream's disk use every <c>Retention:QuotaCheckInterval</c>; over <c>StreamQuotaBytes</c> the
    /// session fails with 4500, cleanly (FFmpeg finalises what it has). True when it ended the session.
    /// </summary>
    private async Task<bool> OverQuotaAsync()
    {
        var retention = _services.Retention;
        var now = _services.Time.GetUtcNow();
        if (retention.StreamQuotaBytes <= 0 || now < _nextQuotaCheck)
        {
            return false;
        }

        _nextQuotaCheck = now + retention.QuotaCheckInterval;
        _priorBytes ??= SessionFiles.BytesOf(_services.DataPath, _host.Stream.Sessions.Where(s => s.Id != Record.Id).Select(s => s.Id));
        var used = _priorBytes.Value + SessionFiles.BytesOf(_services.DataPath, [Record.Id]);
        if (used <= retention.StreamQuotaBytes)
        {
            return false;
        }

        var reason = $"disk quota exceeded: the stream's files take {used} bytes, its quota is {retention.StreamQuotaBytes}";
        LogSessionFails(_services.Logger, Record.Id, reason);
        await CloseAsync(SessionClose.Fail, reason, CloseCodes.SessionFailed, "disk quota exceeded");
        return true;
    }

    /// <summary>
    /// One sample of the session's figures every <c>Session:IdleTickInterval</c>, for the silo's histograms (no session
    /// label): a fixed cadence, so a session that ticks more often for a while does not weigh more in them.
    /// </summary>
    private void RecordSamples()
    {
        var instruments = _services.Instruments;
        instruments.SessionBufferedBytes.Record(Pipeline.BufferedBytes);
        if (Rate.BitsPerSecond is { } bitsPerSecond)
        {
            instruments.SessionIngestBitrate.Record(bitsPerSecond);
        }

        if (Pipeline.Process?.Progress?.Fps is { } fps)
        {
            instruments.SessionFps.Record(fps);
        }
    }
}
