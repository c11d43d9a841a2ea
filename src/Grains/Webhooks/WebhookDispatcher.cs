using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using LiveStream.Options;
using LiveStream.Streams;
using LiveStream.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Webhooks;

/// <summary>
/// The silo's webhook sender. <see cref="Publish"/> puts one delivery per receiver into a bounded in-memory queue
/// (the oldest waiting delivery is dropped when it is full) and returns; the background loop POSTs each delivery,
/// signed, with a timeout per attempt and exponential backoff until <see cref="WebhookOptions.RetryFor"/> has
/// passed. Delivery is at least once while the silo runs; a queue is lost with its silo.
/// </summary>
internal sealed partial class WebhookDispatcher : BackgroundService, ISessionEvents
{
    /// <summary>The named <see cref="HttpClient"/> the deliveries use.</summary>
    public const string HttpClientName = "LiveStream.Webhooks";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    private readonly WebhookOptions _options;
    private readonly IHttpClientFactory _httpClients;
    private readonly LiveStreamInstruments _instruments;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly Channel<WebhookDelivery> _queue;
    private readonly WebhookSpec[] _deploymentTargets;
    private long _dropped;

    public WebhookDispatcher(
        IOptions<WebhookOptions> options,
        IHttpClientFactory httpClients,
        LiveStreamInstruments instruments,
        TimeProvider time,
        ILogger<WebhookDispatcher> logger)
    {
        _options = options.Value;
        _httpClients = httpClients;
        _instruments = instruments;
        _time = time;
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
        // Not disposed: a finishing delivery's continuation may still release it after this method returns.
        var slots = new SemaphoreSlim(_options.MaxConcurrentDeliveries);
        var inFlight = new HashSet<Task>();
        try
        {
            await foreach (var delivery in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await slots.WaitAsync(stoppingToken);
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

                        slots.Release();
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

        // Each one ends promptly: its attempt and its retry wait both observe the stopping token.
        await Task.WhenAll(remaining);
    }

    private async Task DeliverAsync(WebhookDelivery delivery, CancellationToken stoppingToken)
    {
        var url = WebhookUrls.Redact(delivery.Target.Url);
        var deadline = _time.GetUtcNow() + _options.RetryFor;
        var delay = _options.FirstRetryDelay;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var failure = await AttemptAsync(delivery, stoppingToken);
                if (failure is null)
                {
                    _instruments.WebhooksDelivered.Add(1);
                    LogDelivered(_logger, delivery.EventId, delivery.SessionId, delivery.Type, url, attempt);
                    return;
                }

                if (_time.GetUtcNow() + delay > deadline)
                {
                    _instruments.WebhooksGivenUp.Add(1);
                    LogGaveUp(_logger, delivery.EventId, delivery.SessionId, delivery.Type, url, attempt, failure);
                    return;
                }

                LogRetrying(_logger, delivery.EventId, delivery.SessionId, url, attempt, failure, delay);
                await Task.Delay(delay, _time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogAbandonedAtStop(_logger, delivery.EventId, delivery.SessionId, url);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _instruments.WebhooksGivenUp.Add(1);
            LogDeliveryFailed(_logger, ex, delivery.EventId, delivery.SessionId, url);
        }
    }

    /// <summary>One POST; null when the receiver answered 2xx, else what went wrong.</summary>
    private async Task<string?> AttemptAsync(WebhookDelivery delivery, CancellationToken stoppingToken)
    {
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Target.Url)
        {
            Content = new ByteArrayContent(delivery.Body) { Headers = { ContentType = JsonContentType } },
        };
        request.Headers.TryAddWithoutValidation(WebhookSignature.Header, WebhookSignature.Sign(delivery.Target.Secret, _time.GetUtcNow().ToUnixTimeSeconds(), delivery.Body));
        request.Headers.TryAddWithoutValidation(WebhookSignature.EventIdHeader, delivery.EventId);
        try
        {
            using var client = _httpClients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return $"no answer within {_options.AttemptTimeout}";
        }
        catch (HttpRequestException ex)
        {
            // The message names the host and port at most, never the query.
            return ex.HttpRequestError.ToString();
        }
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

    private sealed record WebhookDelivery(string EventId, string SessionId, string Type, byte[] Body, WebhookSpec Target);

    private sealed record WebhookPayload(string Id, string Type, DateTimeOffset CreatedAt, WebhookPayloadData Data);

    private sealed record WebhookPayloadData(string StreamId, string SessionId, string? Reason, int? CloseCode, string? Output);
}
