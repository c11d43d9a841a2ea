namespace LiveStream.Leases;

/// <summary>
/// Leases with fencing tokens, one per stream. Redis when <c>ConnectionStrings:Redis</c> is set; an in-process
/// store in the embedded default. A store that cannot be reached throws <see cref="LeaseStoreUnavailableException"/>.
/// </summary>
public interface ILeaseStore
{
    /// <summary>
    /// Grants the lease when it is free (or already <paramref name="holder"/>'s); otherwise returns the current one. A
    /// lease is free only once released or expired: never while its holder may still be acting.
    /// </summary>
    Task<Lease> AcquireAsync(string resource, string holder, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Extends <paramref name="lease"/>; false when it is no longer the current lease.</summary>
    Task<bool> RenewAsync(string resource, Lease lease, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Gives <paramref name="lease"/> up if it is still the current one.</summary>
    Task ReleaseAsync(string resource, Lease lease, CancellationToken cancellationToken);
}
