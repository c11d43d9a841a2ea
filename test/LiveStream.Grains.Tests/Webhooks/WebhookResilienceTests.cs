using System.Diagnostics;
using LiveStream.Options;
using LiveStream.Streams;
using LiveStream.Testing;
using LiveStream.Webhooks;

namespace LiveStream.Grains.Tests.Webhooks;

/// <summary>
/// Delivery against real receivers on loopback ports: a dead receiver is isolated from the others, a delivery
/// waiting for its retry holds no slot, retries back off with jitter and honour <c>Retry-After</c>, and a failing
/// receiver's circuit opens. No log line shows a receiver URL's query.
/// </summary>
public sealed class WebhookResilienceTests
{
    private const string Secret = "whsec_resilience_test_secret";
    private const string Token = "tok_never_logged_4f2a";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 60_000)]
    public async Task A_receiver_that_never_answers_does_not_hold_up_the_events_of_a_healthy_one()
    {
        await using var dead = await LoopbackReceiver.StartHangingAsync();
        await using var healthy = await LoopbackReceiver.StartAsync(204);

        // 32 requests in flight per silo (the default); each attempt at the dead receiver lasts 30 s.
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions { AttemptTimeout = TimeSpan.FromSeconds(30) });
        for (var i = 0; i < 40; i++)
        {
            webhooks.Dispatcher.Publish(Event(), new WebhookSpec(dead.Url, Secret));
        }

        await Eventually.HoldsAsync(() => dead.Requests.Count >= 1, Wait, "the dead receiver to be called");
        var healthyEvent = Event();
        webhooks.Dispatcher.Publish(healthyEvent, new WebhookSpec(healthy.Url, Secret));

        // Well within one attempt at the dead receiver: its requests hold none of the slots the healthy one needs.
        await Eventually.HoldsAsync(() => healthy.Requests.Count == 1, TimeSpan.FromSeconds(10), "the healthy receiver's event");
        Assert.Equal(healthyEvent.Id, healthy.Requests[0].EventId);
        Assert.InRange(dead.MaxInFlight, 1, new WebhookOptions().MaxConcurrentPerReceiver);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_delivery_waiting_for_its_retry_holds_no_slot()
    {
        await using var failing = await LoopbackReceiver.StartAsync(500);
        await using var healthy = await LoopbackReceiver.StartAsync(204);

        // One request in flight per silo, and retries a minute apart.
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions
        {
            MaxConcurrentDeliveries = 1,
            MaxConcurrentPerReceiver = 1,
            FirstRetryDelay = TimeSpan.FromMinutes(1),
        });
        webhooks.Dispatcher.Publish(Event(), new WebhookSpec(failing.Url, Secret));
        await Eventually.HoldsAsync(() => webhooks.Logs.Lines.Any(l => l.EventId == 3301), Wait, "the failed attempt's retry to be planned");

        webhooks.Dispatcher.Publish(Event(), new WebhookSpec(healthy.Url, Secret));
        await Eventually.HoldsAsync(() => webhooks.Total("livestream.webhooks.delivered") == 1, Wait, "the healthy receiver's event");
        Assert.Single(healthy.Requests);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_503_with_Retry_After_is_retried_no_sooner_than_the_receiver_asked()
    {
        await using var receiver = await LoopbackReceiver.StartAsync((call, context) =>
        {
            context.Response.StatusCode = call == 1 ? 503 : 204;
            if (call == 1)
            {
                context.Response.Headers.RetryAfter = "1";
            }

            return Task.CompletedTask;
        });

        // The backoff alone would retry within 100 ms.
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions
        {
            FirstRetryDelay = TimeSpan.FromMilliseconds(50),
            MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        });
        webhooks.Dispatcher.Publish(Event(), new WebhookSpec(receiver.Url, Secret));
        await Eventually.HoldsAsync(() => webhooks.Total("livestream.webhooks.delivered") == 1, Wait, "the delivery");

        var requests = receiver.Requests;
        Assert.Equal(2, requests.Count);
        var gap = Stopwatch.GetElapsedTime(requests[0].At, requests[1].At);
        Assert.True(gap >= TimeSpan.FromSeconds(0.95), $"retried {gap.TotalMilliseconds:0} ms after a Retry-After of 1 s");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_receiver_that_always_fails_gets_exactly_MaxAttempts_attempts_with_jittered_backoff_between_them()
    {
        await using var receiver = await LoopbackReceiver.StartAsync(500, "?token=" + Token);
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions
        {
            MaxAttempts = 4,
            FirstRetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromSeconds(1),

            // The circuit stays closed here; it has a test of its own.
            CircuitMinimumThroughput = 100,
        });
        var sessionEvent = Event();

        webhooks.Dispatcher.Publish(sessionEvent, new WebhookSpec(receiver.Url, Secret));
        await Eventually.HoldsAsync(() => webhooks.Total("livestream.webhooks.given_up") == 1, Wait, "the delivery to be given up");

        // Given up after its fourth answer: no fifth attempt can be on its way.
        Assert.Equal(4, receiver.Requests.Count);
        Assert.All(receiver.Requests, r => Assert.Equal(sessionEvent.Id, r.EventId));
        var retries = webhooks.Logs.Lines.Where(l => l.EventId == 3301).ToList();
        Assert.Equal([1, 2, 3], retries.Select(l => (int)l.Values["Attempt"]!));
        Assert.Contains(webhooks.Logs.Lines, l => l.EventId == 3302 && (int)l.Values["Attempts"]! == 4 && l.Message.Contains("HTTP 500", StringComparison.Ordinal));

        // Backoff with jitter: delays that are not the bare doubling 100, 200, 400 ms, and never past the maximum.
        var delays = retries.Select(l => (TimeSpan)l.Values["Delay"]!).ToList();
        Assert.NotEqual([TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(400)], delays);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        AssertNoLogShows(webhooks, Token);
    }

    [Fact(Timeout = 60_000)]
    public async Task After_repeated_failures_a_receivers_circuit_opens_and_its_events_fail_fast_while_another_receiver_works()
    {
        await using var failing = await LoopbackReceiver.StartAsync(500, "?token=" + Token);
        await using var healthy = await LoopbackReceiver.StartAsync(204);
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions
        {
            MaxAttempts = 1,
            CircuitMinimumThroughput = 5,
            CircuitFailureRatio = 0.5,
            CircuitBreakDuration = TimeSpan.FromMinutes(10),
        });

        for (var i = 0; i < 5; i++)
        {
            webhooks.Dispatcher.Publish(Event(), new WebhookSpec(failing.Url, Secret));
        }

        await Eventually.HoldsAsync(() => webhooks.Total("livestream.webhooks.given_up") == 5, Wait, "five failed deliveries");
        Assert.Equal(5, failing.Requests.Count);
        Assert.Contains(webhooks.Logs.Lines, l => l.EventId == 3306);

        // Open: five more events are given up without a request, while the other receiver gets its event.
        for (var i = 0; i < 5; i++)
        {
            webhooks.Dispatcher.Publish(Event(), new WebhookSpec(failing.Url, Secret));
        }

        webhooks.Dispatcher.Publish(Event(), new WebhookSpec(healthy.Url, Secret));
        await Eventually.HoldsAsync(() => webhooks.Total("livestream.webhooks.given_up") == 10, Wait, "five deliveries refused by the open circuit");
        await Eventually.HoldsAsync(() => healthy.Requests.Count == 1, Wait, "the healthy receiver's event");
        Assert.Equal(5, failing.Requests.Count);
        Assert.Equal(5, webhooks.Logs.Lines.Count(l => l.EventId == 3302 && l.Message.Contains("circuit is open", StringComparison.Ordinal)));
        AssertNoLogShows(webhooks, Token);
    }

    private static void AssertNoLogShows(WebhookHarness webhooks, string secret)
    {
        Assert.NotEmpty(webhooks.Logs.Lines);
        Assert.All(webhooks.Logs.Lines, l => Assert.DoesNotContain(secret, l.Everything, StringComparison.Ordinal));
    }

    private static SessionEvent Event() => SessionEvent.Create(SessionEventTypes.Active, DateTimeOffset.UtcNow, "s1", "s1_x");
}
