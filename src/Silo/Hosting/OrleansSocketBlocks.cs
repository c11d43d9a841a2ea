using System.Buffers;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Networking.Shared;

namespace LiveStream.Hosting;

/// <summary>
/// Orleans' connections (gateway to silo, silo to silo) use a <see cref="SocketBlockPool"/> instead of Orleans' pool
/// of 4 KiB blocks. A chunk's grain call is a 62.5 kB message: the silo read it in about 16 socket reads, and the
/// gateway serialised it into about 16 pooled segments (a segment object each), then copied them into the
/// connection. Orleans keeps both pools internal: the listeners' pool is an internal option
/// (<c>SocketConnectionOptions.MemoryPoolFactory</c>), and the outgoing connections and the message serializer take
/// theirs from an internal singleton (<c>SharedMemoryPool</c>), registered here again after Orleans' own.
/// Both are set by name; <see cref="Available"/> is false, and a test fails, if an Orleans version no longer has
/// them (the connections then keep Orleans' pools).
/// </summary>
public static class OrleansSocketBlocks
{
    private static readonly PropertyInfo? ListenerPoolFactory = typeof(SocketConnectionOptions).GetProperty(
        "MemoryPoolFactory", BindingFlags.Instance | BindingFlags.NonPublic);

    private static readonly Type? SharedPoolType = typeof(SocketConnectionOptions).Assembly.GetType("Orleans.Networking.Shared.SharedMemoryPool");

    private static readonly FieldInfo? SharedPoolField = SharedPoolType?.GetField("<Pool>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>True when this Orleans version lets both pools be set.</summary>
    public static bool Available =>
        ListenerPoolFactory?.PropertyType == typeof(Func<MemoryPool<byte>>) && ListenerPoolFactory.CanWrite
        && SharedPoolField?.FieldType == typeof(MemoryPool<byte>) && SharedPoolType!.GetConstructor(Type.EmptyTypes) is not null;

    /// <summary>Every Orleans connection of this container (listeners, outgoing, message serializer) uses one pool of kept 64 KiB blocks.</summary>
    public static IServiceCollection AddOrleansSocketBlocks(this IServiceCollection services)
    {
        if (!Available)
        {
            return services;
        }

        var pool = new SocketBlockPool(SocketBlockPool.DefaultRetainedBlocks);
        services.Configure<SocketConnectionOptions>(options => ListenerPoolFactory!.SetValue(options, (Func<MemoryPool<byte>>)(() => pool)));
        services.AddSingleton(SharedPoolType!, _ =>
        {
            var shared = Activator.CreateInstance(SharedPoolType!)!;
            (SharedPoolField!.GetValue(shared) as IDisposable)?.Dispose();
            SharedPoolField.SetValue(shared, pool);
            return shared;
        });
        return services;
    }

    /// <summary>The pool Orleans' listeners of <paramref name="options"/> read into; null when it cannot be read.</summary>
    public static MemoryPool<byte>? ListenerPoolOf(SocketConnectionOptions options) =>
        Available ? (ListenerPoolFactory!.GetValue(options) as Func<MemoryPool<byte>>)?.Invoke() : null;

    /// <summary>The pool of Orleans' outgoing connections and message serializer in <paramref name="services"/>; null when it cannot be read.</summary>
    public static MemoryPool<byte>? SharedPoolOf(IServiceProvider services) =>
        Available ? SharedPoolField!.GetValue(services.GetRequiredService(SharedPoolType!)) as MemoryPool<byte> : null;
}
