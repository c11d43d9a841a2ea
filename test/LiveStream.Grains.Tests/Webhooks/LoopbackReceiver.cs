using System.Collections.Concurrent;
using System.Diagnostics;
using LiveStream.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LiveStream.Grains.Tests.Webhooks;

/// <summary>
/// A webhook receiver on a loopback port (Kestrel on 127.0.0.1:0). It records every request as it arrives, then
/// answers as <c>respond</c> says; a receiver that never answers is one whose <c>respond</c> waits on
/// <see cref="Stopping"/>.
/// </summary>
internal sealed class LoopbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _arrival = new();
    private int _inFlight;
    private int _maxInFlight;

    private LoopbackReceiver(WebApplication app) => _app = app;

    /// <summary>Where to send: <c>http://127.0.0.1:port/hooks</c> and the query it was started with, if any.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Requests received so far, in order of arrival.</summary>
    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    /// <summary>The most requests this receiver held at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Cancelled when the receiver is disposed: what a receiver that never answers waits on.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Answers every request with <paramref name="status"/>.</summary>
    public static Task<LoopbackReceiver> StartAsync(int status, string query = "") =>
        StartAsync((_, context) => { context.Response.StatusCode = status; return Task.CompletedTask; }, query);

    /// <summary>Accepts each request and never answers it.</summary>
    public static Task<LoopbackReceiver> StartHangingAsync() =>
        StartAsync(respond: null);

    /// <summary>Answers the n-th request (1-based) as <paramref name="respond"/> says.</summary>
    public static async Task<LoopbackReceiver> StartAsync(Func<int, HttpContext, Task>? respond, string query = "")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new LoopbackReceiver(app);
        app.Run(context => receiver.HandleAsync(context, respond));
        await app.StartAsync();
        receiver.Url = app.Urls.Single().TrimEnd('/') + "/hooks" + query;
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        using var stopWait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stopWait.Token);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context, Func<int, HttpContext, Task>? respond)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            UpdateMax(inFlight);
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            int call;
            lock (_arrival)
            {
                _requests.Enqueue(new ReceivedRequest(
                    Stopwatch.GetTimestamp(),
                    context.Request.Headers[WebhookSignature.EventIdHeader].ToString(),
                    context.Request.Headers[WebhookSignature.Header].ToString(),
                    body.ToArray()));
                call = _requests.Count;
            }

            if (respond is null)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
                try
                {
                    await Task.Delay(Timeout.Infinite, linked.Token);
                }
                catch (OperationCanceledException)
                {
                    context.Abort();
                }

                return;
            }

            await respond(call, context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void UpdateMax(int inFlight)
    {
        var max = Volatile.Read(ref _maxInFlight);
        while (inFlight > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxInFlight, inFlight, max);
            if (seen == max)
            {
                return;
            }

            max = seen;
        }
    }
}

/// <summary>One request as a receiver saw it; <see cref="At"/> is a <see cref="Stopwatch"/> timestamp.</summary>
internal sealed record ReceivedRequest(long At, string EventId, string Signature, byte[] Body);
