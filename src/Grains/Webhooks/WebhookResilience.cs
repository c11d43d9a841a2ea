using System.Threading.RateLimiting;
using LiveStream.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Telemetry;
using Polly.Timeout;

namespace LiveStream.Webhooks;

/// <summary>
/// The resilience pipeline of webhook requests, one instance per receiver (scheme, host and port), outermost first:
/// <list type="number">
/// <item>a total timeout, <see cref="WebhookOptions.RetryFor"/>;</item>
/// <item>retries, <see cref="WebhookOptions.MaxAttempts"/> in all, with exponential backoff and jitter from
/// <see cref="WebhookOptions.FirstRetryDelay"/> up to <see cref="WebhookOptions.MaxRetryDelay"/>, or the receiver's
/// <c>Retry-After</c>;</item>
/// <item>the receiver's own limit of requests in flight, <see cref="WebhookOptions.MaxConcurrentPerReceiver"/>;</item>
/// <item>the receiver's circuit breaker;</item>
/// <item>the silo's limit of requests in flight, <see cref="WebhookSlots"/>;</item>
/// <item>a timeout per attempt, <see cref="WebhookOptions.AttemptTimeout"/>.</item>
/// </list>
/// Both limits sit inside the retry, so a permit is held during one attempt, never during a backoff wait; the
/// receiver's limit sits outside its circuit, so deliveries waiting for a dead receiver fail fast once its circuit
/// opens. One receiver that never answers thus holds at most its own share of the silo's requests, and only until
/// its circuit opens.
/// </summary>
internal static partial class WebhookResilience
{
    /// <summary>The resilience handler's name on the webhook client.</summary>
    public const string PipelineName = "delivery";

    /// <summary>The receiver <paramref name="request"/> goes to: its scheme, host and port; never user info, path or query.</summary>
    public static string ReceiverOf(HttpRequestMessage request) =>
        request.RequestUri is { IsAbsoluteUri: true } uri ? uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped) : "";

    /// <summary>Builds <paramref name="receiver"/>'s pipeline.</summary>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, string receiver, IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<WebhookOptions>>().Value;
        var logger = services.GetRequiredService<ILogger<WebhookDispatcher>>();
        builder.TimeProvider = services.GetRequiredService<TimeProvider>();

        // Polly's own log lines would repeat 3301-3307 per attempt, at Warning and Error and without the session; its
        // metrics stay.
        builder.ConfigureTelemetry(new TelemetryOptions(services.GetRequiredService<IOptions<TelemetryOptions>>().Value) { LoggerFactory = NullLoggerFactory.Instance });

        builder.AddTimeout(new HttpTimeoutStrategyOptions
        {
            Name = "RetryFor",
            Timeout = options.RetryFor,
            OnTimeout = args =>
            {
                WebhookDelivery.Of(args.Context.GetRequestMessage())?.OutOfTime();
                return default;
            },
        });
        if (options.MaxAttempts > 1)
        {
            builder.AddRetry(RetryOptions(options, logger));
        }

        builder
            .AddConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = options.MaxConcurrentPerReceiver,
                QueueLimit = options.QueueCapacity,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            })
            .AddCircuitBreaker(CircuitBreakerOptions(options, receiver, logger))
            .AddRateLimiter(services.GetRequiredService<WebhookSlots>().Limiter)
            .AddTimeout(new HttpTimeoutStrategyOptions { Name = "AttemptTimeout", Timeout = options.AttemptTimeout });
    }

    /// <summary>The retry strategy: exponential backoff with jitter, the receiver's <c>Retry-After</c> first.</summary>
    internal static HttpRetryStrategyOptions RetryOptions(WebhookOptions options, ILogger logger) => new()
    {
        MaxRetryAttempts = options.MaxAttempts - 1,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = options.FirstRetryDelay,
        MaxDelay = options.MaxRetryDelay,
        ShouldRetryAfterHeader = true,

        // An open circuit is retried too: the delivery waits for its receiver to come back, within RetryFor.
        ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome) || args.Outcome.Exception is BrokenCircuitException),
        OnRetry = args =>
        {
            if (WebhookDelivery.Of(args.Context.GetRequestMessage()) is { } delivery)
            {
                var failure = Describe(args.Outcome.Result, args.Outcome.Exception, options);
                delivery.Retrying(args.AttemptNumber + 1, failure);
                LogRetrying(logger, delivery.EventId, delivery.SessionId, delivery.RedactedUrl, args.AttemptNumber + 1, failure, args.RetryDelay);
            }

            return default;
        },
    };

    /// <summary>The receiver's circuit breaker: it counts failed attempts, not deliveries.</summary>
    internal static HttpCircuitBreakerStrategyOptions CircuitBreakerOptions(WebhookOptions options, string receiver, ILogger logger) => new()
    {
        FailureRatio = options.CircuitFailureRatio,
        MinimumThroughput = options.CircuitMinimumThroughput,
        SamplingDuration = options.CircuitSamplingDuration,
        BreakDuration = options.CircuitBreakDuration,
        ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome)),
        OnOpened = args =>
        {
            LogCircuitOpened(logger, receiver, args.BreakDuration, Describe(args.Outcome.Result, args.Outcome.Exception, options));
            return default;
        },
        OnClosed = _ =>
        {
            LogCircuitClosed(logger, receiver);
            return default;
        },
    };

    /// <summary>An attempt that counts against its receiver: an answer other than 2xx, no answer in time, or no connection.</summary>
    internal static bool IsFailure(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is null
            ? outcome.Result is { IsSuccessStatusCode: false }
            : outcome.Exception is HttpRequestException or TimeoutRejectedException;

    /// <summary>What went wrong, for a log line: never a URL's path or query.</summary>
    internal static string Describe(HttpResponseMessage? response, Exception? exception, WebhookOptions options) => exception switch
    {
        null => $"HTTP {(int)(response?.StatusCode ?? 0)}",
        TimeoutRejectedException => $"no answer within {options.AttemptTimeout}",
        BrokenCircuitException => "the receiver's circuit is open",
        RateLimiterRejectedException => "too many deliveries waiting",

        // Its message names the host and port at most; the error code says as much.
        HttpRequestException http => http.HttpRequestError.ToString(),
        _ => exception.GetType().Name,
    };
}
