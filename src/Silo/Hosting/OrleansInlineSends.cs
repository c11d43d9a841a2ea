using System.IO.Pipelines;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Networking.Shared;

namespace LiveStream.Hosting;

/// <summary>
/// Orleans' connections send on the thread that flushed the message instead of waking another pool thread for it.
/// Each connection's writer loop serialises the queued messages into the connection's pipe and flushes it; the pipe's
/// reader, the socket sender, runs on an I/O queue (a thread-pool work item), so every grain call and every response
/// cost one more thread hand-off. At low load that hand-off finds the pool asleep and is a wake-up per message.
/// Orleans takes the scheduler from an internal singleton (<c>SocketSchedulers</c>), registered here again after
/// Orleans' own with the inline scheduler. Set by name; <see cref="Available"/> is false, and a test fails, if an Orleans
/// version no longer has it (the connections then keep Orleans' I/O queues).
/// </summary>
public static class OrleansInlineSends
{
    private static readonly Type? SchedulersType = typeof(SocketConnectionOptions).Assembly.GetType("Orleans.Networking.Shared.SocketSchedulers");

    private static readonly FieldInfo? SchedulersField = SchedulersType?.GetField("_schedulers", BindingFlags.Instance | BindingFlags.NonPublic);

    private static readonly MethodInfo? GetSchedulerMethod = SchedulersType?.GetMethod("GetScheduler", BindingFlags.Instance | BindingFlags.Public, Type.EmptyTypes);

    /// <summary>True when this Orleans version lets its connections' scheduler be set.</summary>
    public static bool Available =>
        SchedulersField?.FieldType == typeof(PipeScheduler[]) && GetSchedulerMethod?.ReturnType == typeof(PipeScheduler)
        && SchedulersType!.GetConstructor([typeof(Microsoft.Extensions.Options.IOptions<SocketConnectionOptions>)]) is not null;

    /// <summary>Every Orleans connection of this container sends inline (see the type's summary).</summary>
    public static IServiceCollection AddOrleansInlineSends(this IServiceCollection services)
    {
        if (!Available)
        {
            return services;
        }

        services.AddSingleton(SchedulersType!, _ =>
        {
            // One "queue", replaced by the inline scheduler: every connection gets it.
            var options = Microsoft.Extensions.Options.Options.Create(new SocketConnectionOptions { IOQueueCount = 1 });
            var schedulers = Activator.CreateInstance(SchedulersType!, options)!;
            SchedulersField!.SetValue(schedulers, new[] { PipeScheduler.Inline });
            return schedulers;
        });
        return services;
    }

    /// <summary>The scheduler Orleans gives the next connection of <paramref name="services"/>; null when it cannot be read.</summary>
    public static PipeScheduler? SchedulerOf(IServiceProvider services) =>
        Available ? GetSchedulerMethod!.Invoke(services.GetRequiredService(SchedulersType!), null) as PipeScheduler : null;
}
