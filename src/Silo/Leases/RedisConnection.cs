using StackExchange.Redis;

namespace LiveStream.Leases;

/// <summary>One lazily opened Redis connection per process (<c>ConnectionStrings:Redis</c>); it reconnects by itself after an outage.</summary>
public sealed class RedisConnection(string connectionString) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _multiplexer;

    public async Task<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        if (_multiplexer is null)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_multiplexer is null)
                {
                    var options = ConfigurationOptions.Parse(connectionString);
                    options.AbortOnConnectFail = false;

                    // A lease call must fail fast while Redis is down: a new publisher gets 4503 at once, a holder
                    // goes on until its deadline.
                    options.AsyncTimeout = Math.Min(options.AsyncTimeout, 2000);
                    options.ConnectTimeout = Math.Min(options.ConnectTimeout, 2000);
                    _multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        return _multiplexer.GetDatabase();
    }

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is not null)
        {
            await _multiplexer.DisposeAsync();
        }

        _gate.Dispose();
    }
}
