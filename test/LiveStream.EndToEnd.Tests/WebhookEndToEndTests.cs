using System.Net.Http.Json;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>Per-stream webhooks on real processes: signed, retried, de-duplicated by id, and never in ingest's way.</summary>
[Collection(ProcessCluster.Name)]
public sealed class WebhookEndToEndTests(LiveStreamProcesses cluster)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 180_000)]
    public async Task A_receiver_gets_every_lifecycle_event_of_a_session_with_a_drop_and_a_reconnect_signed_and_once_per_id()
    {
        const string secret = "whsec_e2e_receiver_secret_1234";
        cluster.Secrets.Add(secret);
        await using var receiver = new WebhookReceiver(secret, hang: false, "stream.active", "stream.reconnected");
        cluster.Secrets.Add(receiver.Token);
        var capture = MediaCapture.Load("vp8-opus");
        var stream = await CreateAsync(receiver.Url, secret);
        var chunks = capture.Chunks().ToList();
        var half = capture.ChunkSizes.Take(chunks.Count / 2).Sum();

        string sessionId;
        await using (var first = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            sessionId = first.SessionId;
            await first.SendRangeAsync(capture.Bytes, 0, half, 40_000);
            await first.WaitForAckAsync(half, Wait);
            first.Abort();
        }

        await cluster.WaitForSessionStateAsync(sessionId, "disconnected");
        await using (var second = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            Assert.Equal(sessionId, second.SessionId);
            await second.SendRangeAsync(capture.Bytes, second.ResumeFrom, capture.Bytes.Length, 40_000);
            await second.WaitForAckAsync(capture.Bytes.Length, Wait);
            await second.EndAsync();
            await second.ServerClose.WaitAsync(Wait);
        }

        string[] expected = ["stream.active", "stream.disconnected", "stream.reconnected", "stream.ended"];
        await Eventually.HoldsAsync(() => receiver.TypesOf(sessionId).Count == expected.Length, TimeSpan.FromSeconds(60), "four events");
        Assert.Equal(expected, receiver.TypesOf(sessionId));
        Assert.Equal(0, receiver.BadSignatures);

        // The failed first deliveries were retried with the same id and counted once.
        var retried = receiver.Deliveries.Where(d => d.Value > 1).Select(d => receiver.Events[d.Key].GetProperty("type").GetString()).Order();
        Assert.Equal(["stream.active", "stream.reconnected"], retried);
        Assert.All(receiver.Events.Values, e =>
        {
            Assert.Equal(stream.Id, e.GetProperty("data").GetProperty("streamId").GetString());
            Assert.StartsWith("evt_", e.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain(stream.Key, e.GetRawText(), StringComparison.Ordinal);
        });
        var ended = receiver.Events.Values.Single(e => e.GetProperty("type").GetString() == "stream.ended");
        Assert.Equal("publisher ended", ended.GetProperty("data").GetProperty("reason").GetString());

        // Reads show the URL with its query masked and never the secret.
        var read = await cluster.GetJsonAsync($"/api/streams/{stream.Id}");
        Assert.DoesNotContain(receiver.Token, read.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, read.GetProperty("webhook").GetProperty("secret").ValueKind);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_receiver_that_never_answers_does_not_hold_up_acks()
    {
        const string secret = "whsec_e2e_hanging_receiver_99";
        cluster.Secrets.Add(secret);
        await using var receiver = new WebhookReceiver(secret, hang: true);
        cluster.Secrets.Add(receiver.Token);
        var capture = MediaCapture.Load("vp8-opus").Bytes;
        var stream = await CreateAsync(receiver.Url, secret);

        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);

        // stream.active is on its way to a receiver that holds the request open.
        await Eventually.HoldsAsync(() => receiver.Requests >= 1, Wait, "the hanging receiver to be called");
        for (long offset = 0; offset < capture.Length; offset += 40_000)
        {
            var length = (int)Math.Min(40_000, capture.Length - offset);
            await publisher.SendAsync(offset, capture.AsMemory((int)offset, length));
            await publisher.WaitForAckAsync(offset + length, Wait);
        }

        await publisher.EndAsync();
        await publisher.ServerClose.WaitAsync(Wait);
        var ended = await cluster.WaitForSessionStateAsync(publisher.SessionId, "ended", "failed");
        Assert.Equal("ended", ended.GetProperty("state").GetString());
    }

    private async Task<CreatedStream> CreateAsync(Uri webhook, string secret)
    {
        var stream = await cluster.CreateStreamAsync(new
        {
            outputs = new object[] { new { type = "archive" } },
            webhook = new { url = webhook.ToString(), secret },
        });
        return stream;
    }
}
