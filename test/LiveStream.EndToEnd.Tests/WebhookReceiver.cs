using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A webhook receiver on a loopback port, written as a customer would: it checks the signature and the replay
/// window, de-duplicates by event id, and can fail the first delivery of chosen event types (500) or never
/// answer at all.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private static readonly TimeSpan ReplayWindow = TimeSpan.FromMinutes(5);

    private readonly HttpListener _listener = new();
    private readonly string _secret;
    private readonly bool _hang;
    private readonly HashSet<string> _failFirstOf;
    private readonly ConcurrentDictionary<string, JsonElement> _events = new();
    private readonly ConcurrentDictionary<string, int> _deliveries = new();
    private readonly ConcurrentBag<HttpListenerContext> _held = [];
    private readonly Task _loop;
    private int _requests;
    private int _badSignatures;

    public WebhookReceiver(string secret, bool hang = false, params string[] failFirstOf)
    {
        _secret = secret;
        _hang = hang;
        _failFirstOf = [.. failFirstOf];
        var port = FreePort.Next();
        Token = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{port}/hooks?token={Token}");
        _loop = LoopAsync();
    }

    /// <summary>Where to send events; its query carries <see cref="Token"/>, which must never be logged.</summary>
    public Uri Url { get; }

    public string Token { get; }

    /// <summary>Requests received, whatever became of them.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public int BadSignatures => Volatile.Read(ref _badSignatures);

    /// <summary>Distinct events accepted, by id.</summary>
    public IReadOnlyDictionary<string, JsonElement> Events => _events;

    /// <summary>How often each event id was delivered (more than once after a retry).</summary>
    public IReadOnlyDictionary<string, int> Deliveries => _deliveries;

    /// <summary>A session's event types in the order they happened.</summary>
    public IReadOnlyList<string> TypesOf(string sessionId) =>
        [.. _events.Values
            .Where(e => e.GetProperty("data").GetProperty("sessionId").GetString() == sessionId)
            .OrderBy(e => e.GetProperty("createdAt").GetDateTimeOffset())
            .Select(e => e.GetProperty("type").GetString()!)];

    public async ValueTask DisposeAsync()
    {
        foreach (var context in _held)
        {
            context.Response.Abort();
        }

        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
        {
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Interlocked.Increment(ref _requests);
            if (_hang)
            {
                _held.Add(context);
                continue;
            }

            using var buffer = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(buffer);
            var status = Handle(context.Request.Headers["LiveStream-Signature"], buffer.ToArray());
            context.Response.StatusCode = status;
            context.Response.Close();
        }
    }

    private int Handle(string? signature, byte[] body)
    {
        if (!Verify(signature, body))
        {
            Interlocked.Increment(ref _badSignatures);
            return 401;
        }

        var json = JsonDocument.Parse(body).RootElement.Clone();
        var id = json.GetProperty("id").GetString()!;
        var delivery = _deliveries.AddOrUpdate(id, 1, (_, n) => n + 1);
        if (delivery == 1 && _failFirstOf.Contains(json.GetProperty("type").GetString()!))
        {
            return 500;
        }

        // At least once: a repeat of a known id is acknowledged and otherwise ignored.
        _events.TryAdd(id, json);
        return 204;
    }

    /// <summary>The check docs/api.md describes: HMAC-SHA256 over "t.body", and t within the replay window.</summary>
    private bool Verify(string? header, byte[] body)
    {
        var parts = (header ?? "").Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToLookup(p => p[0], p => p[1]);
        if (!long.TryParse(parts["t"].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - t) > ReplayWindow.TotalSeconds)
        {
            return false;
        }

        byte[] signed = [.. Encoding.UTF8.GetBytes($"{t}."), .. body];
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(_secret), signed);
        return parts["v1"].Any(v => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(v), Encoding.ASCII.GetBytes(Convert.ToHexStringLower(expected))));
    }
}
