using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using LiveStream.Options;
using LiveStream.Streams;
using LiveStream.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace LiveStream.Webhooks;

/// <summary>
/// The silo's webhook sender. <see cref="Publish"/> puts one delivery per receiver into a bounded in-memory queue
/// (the oldest waiting delivery is dropped when it is full) and returns; the background loop takes each delivery off
/// the queue and sends it through the webhook client, whose resilience pipeline (<see cref="WebhookResilience"/>)
/// retries, limits and times it, per receiver. Delivery is at least once while the silo runs; a queue is lost with
/// its silo.
/// </summary>
internal sealed partial class WebhookDispatcher : BackgroundService, ISessionEvents
{
    /// <summary>The named <see cref="HttpClient"/> the deliveries use.</summary>
    public const string HttpClientName = "LiveStream.Webhooks";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly WebhookOptions _options;
    private readonly IHttpClientFactory _httpClients;
    private readonly LiveStreamInstruments _instruments;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly Channel<WebhookDelivery> _queue;
    private readonly WebhookSpec[] _deploymentTargets;
    private long _dropped;

    public WebhookDispatcher(
        IOptions<WebhookOptions> options,
        IHttpClientFactory httpClients,
        LiveStreamInstruments instruments,
        ILogger<WebhookDispatcher> logger)
    {
        _options = options.Value;
        _httpClients = httpClients;
        _instruments = instruments;
        _logger = logger;
        _deploymentTargets = [.. _options.Urls.Select(url => new WebhookSpec(url, _options.Secret ?? ""))];
        _queue = Channel.CreateBounded<WebhookDelivery>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            OnDropped);
    }

    /// <summary>Deliveries dropped because the queue was full, since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <inheritdoc/>
    public void Publish(SessionEvent sessionEvent, WebhookSpec? streamWebhook)
    {
        if (_deploymentTargets.Length == 0 && streamWebhook is null)
        {
            return;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(
            new WebhookPayload(
                sessionEvent.Id,
                sessionEvent.Type,
                sessionEvent.CreatedAt,
                new WebhookPayloadData(sessionEvent.StreamId, sessionEvent.SessionId, sessionEvent.Reason, sessionEvent.CloseCode, sessionEvent.Output)),
            Json);
        foreach (var target in _deploymentTargets)
        {
            _queue.Writer.TryWrite(new WebhookDelivery(sessionEvent.Id, sessionEvent.SessionId, sessionEvent.Type, body, target));
        }

        if (streamWebhook is not null)
        {
            _queue.Writer.TryWrite(new WebhookDelivery(sessionEvent.Id, sessionEvent.SessionId, sessionEvent.Type, body, streamWebhook));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Deliveries under way (in an attempt, or waiting for a retry, a receiver or a slot) are bounded like the queue:
        // past that, new ones wait in the queue, where the oldest is dropped when it is full. The requests in flight
        // are limited inside the client's pipeline, per attempt. Not disposed: a finishing delivery's continuation may
        // still release it after this method returns.
        var underway = new SemaphoreSlim(_options.QueueCapacity);
        var inFlight = new HashSet<Task>();
        try
        {
            await foreach (var delivery in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await underway.WaitAsync(stoppingToken);
                var task = DeliverAsync(delivery, stoppingToken);
                lock (inFlight)
                {
                    inFlight.Add(task);
                }

                _ = task.ContinueWith(
                    t =>
                    {
                        lock (inFlight)
                        {
                            inFlight.Remove(t);
                        }

                        underway.Release();
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        Task[] remaining;
        lock (inFlight)
        {
            remaining = [.. inFlight];
        }

        // Each one ends promptly: its attempts, retry waits and queues for permits all observe the stopping token.
        await Task.WhenAll(remaining);
    }

    /// <summary>One delivery: a single send, which the client's pipeline retries until it succeeds or gives up.</summary>
    private async Task DeliverAsync(WebhookDelivery delivery, CancellationToken stoppingToken)
    {
        try
        {
            using var request = delivery.NewRequest();
            using var client = _httpClients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stoppingToken);
            if (response.IsSuccessStatusCode)
            {
                _instruments.WebhooksDelivered.Add(1);
                LogDelivered(_logger, delivery.EventId, delivery.SessionId, delivery.Type, delivery.RedactedUrl, delivery.Attempts);
                return;
            }

            GiveUp(delivery, WebhookResilience.Describe(response, null, _options));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogAbandonedAtStop(_logger, delivery.EventId, delivery.SessionId, delivery.RedactedUrl);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or RateLimiterRejectedException)
        {
            var failure = WebhookResilience.Describe(null, ex, _options);
            if (delivery.IsOutOfTime)
            {
                failure = delivery.LastFailure is { } last ? $"{last}, then RetryFor ({_options.RetryFor}) passed" : $"RetryFor ({_options.RetryFor}) passed";
            }

            GiveUp(delivery, failure);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _instruments.WebhooksGivenUp.Add(1);
            LogDeliveryFailed(_logger, ex, delivery.EventId, delivery.SessionId, delivery.RedactedUrl);
        }
    }

    private void GiveUp(WebhookDelivery delivery, string failure)
    {
        _instruments.WebhooksGivenUp.Add(1);
        LogGaveUp(_logger, delivery.EventId, delivery.SessionId, delivery.Type, delivery.RedactedUrl, delivery.Attempts, failure);
    }

    private void OnDropped(WebhookDelivery delivery)
    {
        var dropped = Interlocked.Increment(ref _dropped);
        _instruments.WebhooksDropped.Add(1);

        // One line for the first drop and then one per thousand: a full queue must not flood the log.
        if (dropped == 1 || dropped % 1000 == 0)
        {
            LogQueueFull(_logger, _options.QueueCapacity, delivery.EventId, delivery.SessionId, dropped);
        }
    }

    private sealed record WebhookPayload(string Id, string Type, DateTimeOffset CreatedAt, WebhookPayloadData Data);

    private sealed record WebhookPayloadData(string StreamId, string SessionId, string? Reason, int? CloseCode, string? Output);
}
