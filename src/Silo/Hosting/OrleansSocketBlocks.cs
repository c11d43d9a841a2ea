using System.Buffers;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Networking.Shared;

namespace LiveStream.Hosting;

/// <summary>
/// Orleans' connections (gateway to silo, silo to silo) read their sockets into a <see cref="SocketBlockPool"/>:
/// a chunk's grain call is a 62.5 kB message, which Orleans' own pool of 4 KiB blocks read in about 16 socket
/// reads on the receiving side. Orleans keeps the pool of its socket connections behind an internal option
/// (<c>SocketConnectionOptions.MemoryPoolFactory</c>), so it is set by name; <see cref="Available"/> is false, and a
/// test fails, if an Orleans version no longer has it (the connections then keep Orleans' pool).
/// </summary>
public static class OrleansSocketBlocks
{
    private static readonly PropertyInfo? PoolFactory = typeof(SocketConnectionOptions).GetProperty(
        "MemoryPoolFactory", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>True when this Orleans version lets the pool be set.</summary>
    public static bool Available => PoolFactory?.PropertyType == typeof(Func<MemoryPool<byte>>) && PoolFactory.CanWrite;

    /// <summary>Every Orleans socket connection of this container reads into one pool of kept 64 KiB blocks.</summary>
    public static IServiceCollection AddOrleansSocketBlocks(this IServiceCollection services) =>
        services.Configure<SocketConnectionOptions>(options => Apply(options, new SocketBlockPool(SocketBlockPool.DefaultRetainedBlocks)));

    /// <summary>Gives <paramref name="options"/> <paramref name="pool"/>; false when it cannot be set.</summary>
    public static bool Apply(SocketConnectionOptions options, MemoryPool<byte> pool)
    {
        if (!Available)
        {
            return false;
        }

        PoolFactory!.SetValue(options, (Func<MemoryPool<byte>>)(() => pool));
        return true;
    }

    /// <summary>The pool the connections of <paramref name="options"/> read into; null when it cannot be read.</summary>
    public static MemoryPool<byte>? PoolOf(SocketConnectionOptions options) =>
        Available ? (PoolFactory!.GetValue(options) as Func<MemoryPool<byte>>)?.Invoke() : null;
}
