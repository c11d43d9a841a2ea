using LiveStream.Media;
using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>
/// When the live session's tick runs. An idle session costs a grain turn per <c>Session:IdleTickInterval</c>, not per
/// second: the tick is armed for the earliest thing due (publisher silence, the end of the reconnect window, the
/// next quota check, the next histogram sample), every <c>Session:TickInterval</c> while something is pending (an
/// FFmpeg start, an offset to store), and at once when FFmpeg exits or the lease is lost. Everything here runs on
/// the grain's scheduler, so the timer is only ever changed from one thread.
/// </summary>
internal sealed partial class LiveSession
{
    // The grain's scheduler, captured in the constructor (a grain turn): wake-ups from other threads are queued here.
    private readonly TaskScheduler _turns;

    // Cancelled when the session closes: a wake-up queued after that would reach a grain that may be gone.
    private readonly CancellationTokenSource _wakeups = new();
    private DateTimeOffset _tickAt;
    private bool _ticking;
    private bool _woken;
    private IMediaProcess? _watched;

    /// <summary>
    /// Arms the tick earlier when a grain turn brought a deadline closer (a disconnect opens the reconnect window, a
    /// write left an offset to store or asked for an FFmpeg), and watches a new FFmpeg's exit. A tick under way arms
    /// the next one itself when it ends.
    /// </summary>
    private void Reschedule()
    {
        if (_closed || _ticking)
        {
            return;
        }

        WatchProcess();
        var at = NextTickAt(_services.Time.GetUtcNow());
        if (at < _tickAt)
        {
            ScheduleTick(at);
        }
    }

    /// <summary>The earliest moment the tick has something to do.</summary>
    private DateTimeOffset NextTickAt(DateTimeOffset now)
    {
        var session = _services.Session;
        if (Pipeline.WaitsForProcess || Durable < Committed)
        {
            // A restart's backoff, a recording waiting for the old FFmpeg to finish, a store blip: checked often.
            return now + session.TickInterval;
        }

        var at = _nextSample;
        if (Record.State == SessionState.Active)
        {
            at = Earliest(at, now + session.PublisherTimeout - _services.Time.GetElapsedTime(_lastHeard));
        }
        else if (Record is { State: SessionState.Disconnected, DisconnectedAt: { } since })
        {
            at = Earliest(at, since + TimeSpan.FromSeconds(_host.Stream.Settings.ReconnectWindowSeconds));
        }

        if (_services.Retention.StreamQuotaBytes > 0)
        {
            at = Earliest(at, _nextQuotaCheck);
        }

        return at;
    }

    private void ScheduleTick(DateTimeOffset at)
    {
        if (_closed)
        {
            return;
        }

        WatchProcess();
        _tickAt = at;
        var due = at - _services.Time.GetUtcNow();

        // The period is a safety net only: every tick arms the next one.
        _tick.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, _services.Session.IdleTickInterval);
    }

    /// <summary>An FFmpeg exit wakes the tick, which restarts it (or fails the session) without waiting.</summary>
    private void WatchProcess()
    {
        if (Pipeline.Process is { } process && !ReferenceEquals(process, _watched))
        {
            _watched = process;
            _ = process.Exited.ContinueWith(static (_, session) => ((LiveSession)session!).Wake(), this, _wakeups.Token, TaskContinuationOptions.None, _turns);
        }
    }

    /// <summary>From the lease keeper's thread: queues a wake-up on the grain's scheduler.</summary>
    private void WakeFromAnyThread()
    {
        if (!_wakeups.IsCancellationRequested)
        {
            _ = Task.Factory.StartNew(static session => ((LiveSession)session!).Wake(), this, _wakeups.Token, TaskCreationOptions.None, _turns);
        }
    }

    /// <summary>Runs the tick at once (or right after the one under way, which may have looked too early).</summary>
    private void Wake()
    {
        if (_ticking)
        {
            _woken = true;
        }
        else
        {
            ScheduleTick(_services.Time.GetUtcNow());
        }
    }

    private static DateTimeOffset Earliest(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
