using LiveStream.Options;
using Microsoft.Extensions.Logging;

namespace LiveStream.Leases;

/// <summary>
/// A session's hold on its stream's lease, and the fence that goes with it. Once acquired, the lease is renewed on
/// the silo's renewal clock (<see cref="LeaseRenewals"/>: outside any grain turn, so a busy grain never lets it
/// lapse; one clock for every session, so a held lease costs no timer of its own) and the keeper keeps a deadline of
/// <c>renewal sent + Ttl - StopMargin</c>. When the deadline passes without a proven renewal, or the store says the
/// lease is somebody else's, <see cref="Fenced"/> is cancelled: the session's owner kills its processes from that
/// callback and refuses writes, before the store can grant the lease to anyone else.
/// </summary>
internal sealed partial class LeaseKeeper : IAsyncDisposable
{
    private readonly ILeaseStore _store;
    private readonly LeaseRenewals _renewals;
    private readonly LeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _resource;
    private readonly string _holder;
    private readonly CancellationTokenSource _fence;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task _renewal = Task.CompletedTask;
    private bool _renewing;
    private bool _released;
    private long _deadlineTicks;

    public LeaseKeeper(ILeaseStore store, LeaseRenewals renewals, ILogger logger, string resource, string holder)
    {
        _store = store;
        _renewals = renewals;
        _options = renewals.Options;
        _time = renewals.Time;
        _logger = logger;
        _resource = resource;
        _holder = holder;
        _fence = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
    }

    /// <summary>The lease while it is held (null before it is acquired and after it is released).</summary>
    public Lease? Current { get; private set; }

    /// <summary>Cancelled once this holder can no longer prove the lease; never reset.</summary>
    public CancellationToken Fenced => _fence.Token;

    /// <summary>
    /// Runs <paramref name="action"/> once, when this holder is fenced off, on the thread that fences it: the fence's
    /// own timer, a renewal, or the release. One that throws is logged; it cannot take the timer's thread (and the
    /// silo) down, nor keep the other callbacks or the keeper's release from running.
    /// </summary>
    public CancellationTokenRegistration OnFenced(Action action) => _fence.Token.Register(() =>
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            LogFenceCallbackFailed(_logger, ex, _resource);
        }
    });

    /// <summary>
    /// True while the lease is held and proven: the session may act on its outputs. It reads the deadline as well as
    /// the fence, so a thread that runs on after a pause learns of it before the fence's timer has fired.
    /// </summary>
    public bool IsHeld =>
        Current is not null && !_fence.IsCancellationRequested && _time.GetUtcNow().UtcTicks < Volatile.Read(ref _deadlineTicks);

    /// <summary>
    /// The holder id of one session's keeper on a silo: <c>{siloAddress}/{sessionId}/{nonce}</c>. The nonce makes every
    /// keeper a holder of its own: two activations of a stream's grain on one silo (a duplicate that Orleans has not
    /// resolved yet) cannot both hold the lease.
    /// </summary>
    public static string HolderId(SiloAddress silo, string sessionId) =>
        $"{silo.ToParsableString()}/{sessionId}/{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";

    /// <summary>
    /// Takes the lease and starts keeping it; false when someone else holds it (a holder that died keeps it until
    /// its TTL runs out: only then has it certainly stopped). Throws when the store cannot be reached.
    /// </summary>
    public async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        var sent = _time.GetUtcNow();
        var lease = await _store.AcquireAsync(_resource, _holder, _options.Ttl, cancellationToken);
        if (lease.Holder != _holder)
        {
            return false;
        }

        Current = lease;
        Extend(sent);
        _renewals.Add(this);
        return true;
    }

    /// <summary>
    /// Fences this holder off at once (its lease was found taken, or its session is leaving). Every callback on
    /// <see cref="Fenced"/> runs; one that throws is logged, and the keeper's own bookkeeping (its release, its place
    /// on the renewal clock) goes on regardless.
    /// </summary>
    public void Fence()
    {
        try
        {
            _fence.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Released already.
        }
        catch (AggregateException ex)
        {
            LogFenceCallbackFailed(_logger, ex, _resource);
        }
    }

    /// <summary>Stops renewing and gives the lease up, once the caller has stopped every side effect.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        _renewals.Remove(this);
        Task renewal;
        lock (_gate)
        {
            _released = true;
            renewal = _renewal;
        }

        // A renewal under way ends at once (its token is cancelled), and none starts after this.
        await _stop.CancelAsync();
        await renewal;
        if (Current is not { } lease)
        {
            return;
        }

        Current = null;
        try
        {
            await _store.ReleaseAsync(_resource, lease, cancellationToken);
        }
        catch (Exception ex) when (ex is LeaseStoreUnavailableException or TimeoutException or OperationCanceledException)
        {
            // It expires by itself.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Fence();
        await ReleaseAsync(CancellationToken.None);
        _stop.Dispose();
        _fence.Dispose();
    }

    /// <summary>
    /// From the renewal clock: renews the lease unless the previous renewal is still out (a store that hangs), the
    /// holder is fenced, or it is being released.
    /// </summary>
    internal void RenewIfIdle()
    {
        lock (_gate)
        {
            if (_released || _renewing || _fence.IsCancellationRequested)
            {
                return;
            }

            _renewing = true;
            _renewal = RenewAsync(_stop.Token);
        }
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (Current is not { } lease)
            {
                return;
            }

            var sent = _time.GetUtcNow();
            bool renewed;
            try
            {
                // A renewal slower than the holder's remaining time proves nothing: it is abandoned.
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _fence.Token);
                renewed = await _store.RenewAsync(_resource, lease, _options.Ttl, bounded.Token);
            }
            catch (Exception ex) when (ex is LeaseStoreUnavailableException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogRenewFailed(_logger, ex, _resource);
                return;
            }

            if (!renewed)
            {
                LogLeaseTaken(_logger, _resource);
                Fence();
                _renewals.Remove(this);
                return;
            }

            Extend(sent);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Released.
        }
        finally
        {
            lock (_gate)
            {
                _renewing = false;
            }
        }
    }

    private void Extend(DateTimeOffset sent)
    {
        Volatile.Write(ref _deadlineTicks, (sent + _options.HoldFor).UtcTicks);
        var left = sent + _options.HoldFor - _time.GetUtcNow();
        try
        {
            if (left <= TimeSpan.Zero)
            {
                Fence();
            }
            else
            {
                _fence.CancelAfter(left);
            }
        }
        catch (ObjectDisposedException)
        {
            // Released meanwhile.
        }
    }

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "A callback of the fence of stream {StreamId} failed; the others ran")]
    private static partial void LogFenceCallbackFailed(ILogger logger, Exception exception, string streamId);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "Lease of stream {StreamId} could not be renewed; its holder stops at its deadline unless a renewal succeeds first")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string streamId);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Lease of stream {StreamId} is held by somebody else now; fencing this holder off")]
    private static partial void LogLeaseTaken(ILogger logger, string streamId);
}
