using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using LiveStream.Options;
using LiveStream.Streams;
using LiveStream.Testing;
using LiveStream.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace LiveStream.Grains.Tests.Webhooks;

/// <summary>
/// The dispatcher, wired as a silo wires it, with a fake receiver in place of the network and a fake clock: retries,
/// give-up, timeouts, signatures, the bounded queue.
/// </summary>
public sealed class WebhookDispatcherTests
{
    private const string Secret = "whsec_unit_test_secret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task A_failed_delivery_is_retried_with_the_same_id_and_a_valid_signature_until_it_succeeds()
    {
        var receiver = new FakeReceiver(failFirst: 2);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions { Urls = ["https://hooks.test/in?token=x"], Secret = Secret }, time, receiver);

        webhooks.Dispatcher.Publish(Event(SessionEventTypes.Active), null);
        await AdvanceUntil(time, () => receiver.Succeeded == 1);

        Assert.Equal(3, receiver.Attempts.Count);
        Assert.Single(receiver.Attempts.Select(a => a.EventId).Distinct());
        Assert.All(receiver.Attempts, a => Assert.True(WebhookSignature.Verify(Secret, a.Signature, a.Body, time.GetUtcNow(), TimeSpan.FromMinutes(5))));

        // Each attempt is signed when it goes out, so a late retry still passes a receiver's replay window.
        Assert.Equal(3, receiver.Attempts.Select(a => a.Signature).Distinct().Count());
        var json = JsonDocument.Parse(receiver.Attempts[0].Body).RootElement;
        Assert.Equal(receiver.Attempts[0].EventId, json.GetProperty("id").GetString());
        Assert.Equal("stream.active", json.GetProperty("type").GetString());
        Assert.Equal("s1", json.GetProperty("data").GetProperty("streamId").GetString());
        Assert.Equal("s1_x", json.GetProperty("data").GetProperty("sessionId").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task A_receiver_that_keeps_failing_is_given_up_after_the_retry_time_and_not_called_again()
    {
        var receiver = new FakeReceiver(failFirst: int.MaxValue);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new WebhookOptions
        {
            Urls = ["https://hooks.test/in"],
            Secret = Secret,
            FirstRetryDelay = TimeSpan.FromSeconds(1),
            MaxRetryDelay = TimeSpan.FromSeconds(4),
            RetryFor = TimeSpan.FromSeconds(10),
        };
        await using var webhooks = await WebhookHarness.StartAsync(options, time, receiver);

        webhooks.Dispatcher.Publish(Event(SessionEventTypes.Ended), null);
        await AdvanceUntil(time, () => webhooks.Total("livestream.webhooks.given_up") == 1);

        // Jittered delays of at most 4 s within the 10 s budget; the circuit opens after 5 failed attempts.
        var attempts = receiver.Attempts.Count;
        Assert.InRange(attempts, 2, 5);
        time.Advance(TimeSpan.FromMinutes(5));
        await Task.Yield();
        Assert.Equal(attempts, receiver.Attempts.Count);
        Assert.Contains(webhooks.Logs.Lines, l => l.EventId == 3302 && l.Message.Contains("RetryFor", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_receiver_that_never_answers_times_out_per_attempt_and_is_retried()
    {
        var receiver = new FakeReceiver(failFirst: 0, hangFirst: 1);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions { Urls = ["https://hooks.test/in"], Secret = Secret, AttemptTimeout = TimeSpan.FromSeconds(5) }, time, receiver);

        webhooks.Dispatcher.Publish(Event(SessionEventTypes.Disconnected), null);
        await AdvanceUntil(time, () => receiver.Succeeded == 1);

        Assert.Equal(2, receiver.Attempts.Count);
        Assert.True(receiver.HungAttemptCancelled);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_full_queue_drops_the_oldest_deliveries_and_counts_them_while_publish_never_waits()
    {
        var receiver = new FakeReceiver(failFirst: 0);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var webhooks = WebhookHarness.Create(new WebhookOptions { Urls = ["https://hooks.test/in"], Secret = Secret, QueueCapacity = 2 }, time, receiver);
        var events = Enumerable.Range(0, 5).Select(_ => Event(SessionEventTypes.Active)).ToList();

        // Not started yet: nothing drains the queue, and publishing still returns at once.
        foreach (var e in events)
        {
            webhooks.Dispatcher.Publish(e, null);
        }

        Assert.Equal(3, webhooks.Dispatcher.Dropped);
        await webhooks.StartAsync();
        await Eventually.HoldsAsync(() => receiver.Succeeded == 2, Wait, "two deliveries");

        // The newest two survived.
        Assert.Equal(new[] { events[3].Id, events[4].Id }.Order(), receiver.Attempts.Select(a => a.EventId).Order());
    }

    [Fact(Timeout = 30_000)]
    public async Task The_stream_webhook_gets_its_own_signature_beside_the_deployment_receivers()
    {
        var receiver = new FakeReceiver(failFirst: 0);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var webhooks = await WebhookHarness.StartAsync(new WebhookOptions { Urls = ["https://deployment.test/in"], Secret = Secret }, time, receiver);
        const string streamSecret = "whsec_stream_own_secret";

        webhooks.Dispatcher.Publish(Event(SessionEventTypes.Active), new WebhookSpec("https://stream.test/in", streamSecret));
        await Eventually.HoldsAsync(() => receiver.Succeeded == 2, Wait, "two deliveries");

        var byHost = receiver.Attempts.ToDictionary(a => a.Host);
        Assert.True(WebhookSignature.Verify(Secret, byHost["deployment.test"].Signature, byHost["deployment.test"].Body, time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        Assert.True(WebhookSignature.Verify(streamSecret, byHost["stream.test"].Signature, byHost["stream.test"].Body, time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, byHost["stream.test"].Signature, byHost["stream.test"].Body, time.GetUtcNow(), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Options_errors_name_their_keys()
    {
        var result = new WebhookOptionsValidator().Validate(null, new WebhookOptions { Urls = ["ftp://x"], Secret = "short", QueueCapacity = 0 });
        Assert.Contains("LiveStream:Webhooks:Urls:0", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("LiveStream:Webhooks:Secret", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("LiveStream:Webhooks:QueueCapacity", result.FailureMessage, StringComparison.Ordinal);

        var resilience = new WebhookOptionsValidator().Validate(null, new WebhookOptions
        {
            MaxAttempts = 0,
            RetryFor = TimeSpan.FromSeconds(1),
            MaxConcurrentPerReceiver = 64,
            CircuitFailureRatio = 0,
            CircuitMinimumThroughput = 1,
            CircuitBreakDuration = TimeSpan.Zero,
        });
        foreach (var key in new[] { "MaxAttempts", "RetryFor", "MaxConcurrentPerReceiver", "CircuitFailureRatio", "CircuitMinimumThroughput", "CircuitBreakDuration" })
        {
            Assert.Contains($"LiveStream:Webhooks:{key} ", resilience.FailureMessage, StringComparison.Ordinal);
        }

        Assert.True(new WebhookOptionsValidator().Validate(null, new WebhookOptions()).Succeeded);
    }

    private static SessionEvent Event(string type) => SessionEvent.Create(type, DateTimeOffset.UtcNow, "s1", "s1_x");

    /// <summary>Moves the fake clock on a second at a time until <paramref name="done"/> holds: retries wait on that clock.</summary>
    private static Task AdvanceUntil(FakeTimeProvider time, Func<bool> done) =>
        Eventually.HoldsAsync(
            () =>
            {
                if (done())
                {
                    return true;
                }

                time.Advance(TimeSpan.FromSeconds(1));
                return false;
            },
            Wait,
            "the deliveries");

    private sealed record Attempt(string Host, string EventId, string? Signature, byte[] Body);

    /// <summary>A receiver in place of the network: hangs the first <c>hangFirst</c> calls, fails the next <c>failFirst</c> with 500.</summary>
    private sealed class FakeReceiver(int failFirst, int hangFirst = 0) : HttpMessageHandler
    {
        private readonly ConcurrentQueue<Attempt> _attempts = new();
        private int _calls;
        private int _succeeded;

        public List<Attempt> Attempts => [.. _attempts];

        public int Succeeded => Volatile.Read(ref _succeeded);

        public bool HungAttemptCancelled { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            _attempts.Enqueue(new Attempt(
                request.RequestUri!.Host,
                request.Headers.GetValues(WebhookSignature.EventIdHeader).Single(),
                request.Headers.TryGetValues(WebhookSignature.Header, out var values) ? values.Single() : null,
                body));
            var call = Interlocked.Increment(ref _calls);
            if (call <= hangFirst)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    HungAttemptCancelled = true;
                    throw;
                }
            }

            if (call <= hangFirst + failFirst)
            {
                return new HttpResponseMessage(HttpStatusCode.InternalServerError);
            }

            Interlocked.Increment(ref _succeeded);
            return new HttpResponseMessage(HttpStatusCode.NoContent);
        }
    }
}
