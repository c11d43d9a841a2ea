using LiveStream.Options;
using StackExchange.Redis;

namespace LiveStream.Leases;

/// <summary>
/// A session's hold on its stream's lease, kept by the stream grain: taken before FFmpeg starts, renewed from the
/// grain's tick, given up after FFmpeg has stopped. A lease whose holder's silo Orleans has declared dead is taken
/// over at once instead of after its TTL.
/// </summary>
internal sealed class StreamLease(
    ILeaseStore store,
    IClusterMembershipService membership,
    LeaseOptions options,
    TimeProvider time,
    string resource,
    string holder)
{
    private DateTimeOffset _deadline;
    private DateTimeOffset _nextRenewal;

    /// <summary>The lease while it is held.</summary>
    public Lease? Current { get; private set; }

    /// <summary>The holder id of a session on a silo: <c>{siloAddress}/{sessionId}</c>.</summary>
    public static string HolderId(SiloAddress silo, string sessionId) => $"{silo.ToParsableString()}/{sessionId}";

    /// <summary>Takes the lease; false when someone alive holds it.</summary>
    public async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        var lease = await store.AcquireAsync(resource, holder, options.Ttl, cancellationToken);
        if (lease.Holder != holder && HolderIsDead(lease))
        {
            lease = await store.TakeOverAsync(resource, lease, holder, options.Ttl, cancellationToken);
        }

        if (lease.Holder != holder)
        {
            return false;
        }

        Hold(lease);
        return true;
    }

    /// <summary>Renews when due. False when the lease is lost: someone else holds it, or it could not be renewed before its deadline.</summary>
    public async Task<bool> KeepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (Current is null || now < _nextRenewal)
        {
            return Current is not null;
        }

        try
        {
            if (await store.RenewAsync(resource, Current, options.Ttl, cancellationToken))
            {
                Hold(Current);
                return true;
            }

            // It expired (a long pause) or was taken: take it again only if nobody else has.
            return await AcquireAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // Store unreachable: the lease is still ours until its deadline.
            return now < _deadline;
        }
    }

    /// <summary>Gives the lease up.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (Current is { } lease)
        {
            Current = null;
            try
            {
                await store.ReleaseAsync(resource, lease, cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
            {
                // It expires by itself.
            }
        }
    }

    private void Hold(Lease lease)
    {
        Current = lease;
        var now = time.GetUtcNow();
        _deadline = now + options.Ttl;
        _nextRenewal = now + options.RenewInterval;
    }

    private bool HolderIsDead(Lease lease)
    {
        var slash = lease.Holder.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        try
        {
            var silo = SiloAddress.FromParsableString(lease.Holder[..slash]);
            return membership.CurrentSnapshot.GetSiloStatus(silo) == SiloStatus.Dead;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
