using StackExchange.Redis;

namespace LiveStream.Leases;

/// <summary>
/// Leases in Redis: <c>livestream:lease:{resource}</c> holds <c>{token}|{holder}</c> with a TTL; the fencing token
/// comes from <c>livestream:lease:{resource}:fence</c>, which never expires, so tokens only grow. Every step is one
/// Lua script, so a check and its change are atomic.
/// </summary>
public sealed class RedisLeaseStore(RedisConnection redis) : ILeaseStore
{
    private const string AcquireScript = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local bar = string.find(current, '|', 1, true)
          if string.sub(current, bar + 1) ~= ARGV[1] then return current end
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return current
        end
        local value = redis.call('INCR', KEYS[2]) .. '|' .. ARGV[1]
        redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
        return value
        """;

    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          return 1
        end
        return 0
        """;

    /// <summary>The Redis key of a resource's lease.</summary>
    public static string Key(string resource) => $"livestream:lease:{resource}";

    public async Task<Lease> AcquireAsync(string resource, string holder, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var result = await EvalAsync(AcquireScript, resource, [holder, Milliseconds(ttl)], cancellationToken);
        return Lease.Parse((string?)result) ?? throw new InvalidOperationException("Malformed lease in Redis.");
    }

    public async Task<bool> RenewAsync(string resource, Lease lease, TimeSpan ttl, CancellationToken cancellationToken) =>
        (long)await EvalAsync(RenewScript, resource, [lease.Value, Milliseconds(ttl)], cancellationToken) == 1;

    public async Task ReleaseAsync(string resource, Lease lease, CancellationToken cancellationToken) =>
        await EvalAsync(ReleaseScript, resource, [lease.Value], cancellationToken);

    private async Task<RedisResult> EvalAsync(string script, string resource, RedisValue[] args, CancellationToken cancellationToken)
    {
        try
        {
            var database = await redis.GetDatabaseAsync(cancellationToken);
            return await database.ScriptEvaluateAsync(script, [Key(resource), Key(resource) + ":fence"], args).WaitAsync(cancellationToken);
        }
        catch (RedisException ex)
        {
            throw new LeaseStoreUnavailableException("Redis did not answer a lease request.", ex);
        }
    }

    private static RedisValue Milliseconds(TimeSpan ttl) => (long)ttl.TotalMilliseconds;
}
