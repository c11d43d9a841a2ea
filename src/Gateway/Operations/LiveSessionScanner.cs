using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;

namespace LiveStream.Gateway.Operations;

/// <summary>
/// Finds the cluster's live sessions. A live session exists only inside an activation of its stream's grain (the
/// activation owns its FFmpeg), so the scan asks Orleans which stream grains are active on each silo
/// (<c>IManagementGrain.GetActiveGrains</c>, one in-memory look-up per silo) and then asks only those grains
/// for their current session, at most <see cref="MaxConcurrentCalls"/> at a time. Idle streams are never activated
/// by a scan, and nothing is written on the ingest path to keep an index up to date.
/// Concurrent callers share the scan in flight, so many pages polling every second cost one scan at a time.
/// </summary>
internal sealed partial class LiveSessionScanner(IGrainFactory grains, ILogger<LiveSessionScanner> logger)
{
    /// <summary>Grain calls a scan keeps in flight at once.</summary>
    public const int MaxConcurrentCalls = 32;

    /// <summary>A scan that takes longer is abandoned (the callers get an error, the next call starts afresh).</summary>
    public static readonly TimeSpan ScanTimeout = TimeSpan.FromSeconds(10);

    private static readonly GrainType StreamGrainType = GrainType.Create("livestream.stream");

    private readonly Lock _lock = new();
    private Task<LiveSessionScan>? _inFlight;

    /// <summary>The live sessions, from the scan in flight or a new one.</summary>
    public Task<LiveSessionScan> ScanAsync()
    {
        lock (_lock)
        {
            if (_inFlight is { IsCompleted: false } running)
            {
                return running;
            }

            _inFlight = RunAsync();
            return _inFlight;
        }
    }

    private async Task<LiveSessionScan> RunAsync()
    {
        using var timeout = new CancellationTokenSource(ScanTimeout);
        var active = await grains.GetGrain<IManagementGrain>(0).GetActiveGrains(StreamGrainType, timeout.Token);
        var found = new List<LiveSession>();
        var unanswered = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentCalls, CancellationToken = timeout.Token };
        await Parallel.ForEachAsync(active.Select(id => id.Key.ToString()).Distinct(StringComparer.Ordinal), options, async (streamId, cancellationToken) =>
        {
            if (!SessionIds.IsStreamId(streamId))
            {
                return;
            }

            try
            {
                var session = await LiveSessionOfAsync(grains.GetGrain<IStreamGrain>(streamId)).WaitAsync(cancellationToken);
                if (session is not null)
                {
                    lock (found)
                    {
                        found.Add(session);
                    }
                }
            }
            catch (Exception ex) when (IsUnanswered(ex))
            {
                // A silo that died or is stopping: the session is reported again once its grain answers elsewhere.
                Interlocked.Increment(ref unanswered);
                LogUnanswered(logger, ex, streamId);
            }
        });

        return new LiveSessionScan(
            [.. found.OrderBy(s => s.Status.StartedAt).ThenBy(s => s.Status.Id, StringComparer.Ordinal)],
            active.Count,
            unanswered);
    }

    /// <summary>The grain's current session when it is live; both calls interleave, so a busy grain still answers.</summary>
    private static async Task<LiveSession?> LiveSessionOfAsync(IStreamGrain grain)
    {
        if (await grain.GetAsync() is not { CurrentSessionId: { } sessionId } info)
        {
            return null;
        }

        var status = await grain.GetSessionAsync(sessionId);
        return status is { State: SessionState.Active or SessionState.Disconnected } ? new LiveSession(info.Name, status) : null;
    }

    private static bool IsUnanswered(Exception ex) =>
        ex is OrleansException or TimeoutException or Orleans.Runtime.Messaging.ConnectionFailedException;
}

/// <summary>A live session and its stream's name.</summary>
internal sealed record LiveSession(string StreamName, SessionStatus Status);

/// <summary>What a scan found: the live sessions, how many stream grains were active, and how many did not answer.</summary>
internal sealed record LiveSessionScan(IReadOnlyList<LiveSession> Sessions, int ActiveStreamGrains, int Unanswered);
