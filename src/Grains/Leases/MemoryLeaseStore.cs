namespace LiveStream.Leases;

/// <summary>The embedded default's lease store: one process, one dictionary.</summary>
public sealed class MemoryLeaseStore(TimeProvider time) : ILeaseStore
{
    private readonly Dictionary<string, (Lease Lease, DateTimeOffset Expires)> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _fences = new(StringComparer.Ordinal);

    public Task<Lease> AcquireAsync(string resource, string holder, TimeSpan ttl, CancellationToken cancellationToken)
    {
        lock (_leases)
        {
            if (TryCurrent(resource, out var current) && current.Holder != holder)
            {
                return Task.FromResult(current);
            }

            return Task.FromResult(current ?? Grant(resource, holder, ttl));
        }
    }

    public Task<bool> RenewAsync(string resource, Lease lease, TimeSpan ttl, CancellationToken cancellationToken)
    {
        lock (_leases)
        {
            if (!TryCurrent(resource, out var current) || current != lease)
            {
                return Task.FromResult(false);
            }

            _leases[resource] = (lease, time.GetUtcNow() + ttl);
            return Task.FromResult(true);
        }
    }

    public Task ReleaseAsync(string resource, Lease lease, CancellationToken cancellationToken)
    {
        lock (_leases)
        {
            if (TryCurrent(resource, out var current) && current == lease)
            {
                _leases.Remove(resource);
            }
        }

        return Task.CompletedTask;
    }

    private bool TryCurrent(string resource, out Lease current)
    {
        if (_leases.TryGetValue(resource, out var entry) && entry.Expires > time.GetUtcNow())
        {
            current = entry.Lease;
            return true;
        }

        current = null!;
        return false;
    }

    private Lease Grant(string resource, string holder, TimeSpan ttl)
    {
        var token = _fences.GetValueOrDefault(resource) + 1;
        _fences[resource] = token;
        var lease = new Lease(token, holder);
        _leases[resource] = (lease, time.GetUtcNow() + ttl);
        return lease;
    }
}
