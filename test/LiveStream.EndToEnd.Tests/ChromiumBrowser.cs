using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A headless Chromium the tests own (fake camera and microphone, fresh profile), driven over the DevTools
/// protocol. Killed with its whole process tree and awaited on dispose.
/// </summary>
public sealed class ChromiumBrowser : IAsyncLifetime
{
    /// <summary>
    /// The browser: <c>LIVESTREAM_CHROMIUM</c> when set (test.sh sets it to the Chromium it found), else Debian's
    /// <c>/usr/bin/chromium</c>.
    /// </summary>
    public static readonly string Executable =
        Environment.GetEnvironmentVariable("LIVESTREAM_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private readonly string _profile = Directory.CreateTempSubdirectory("livestream-chromium-").FullName;
    private ManagedProcess? _process;
    private DevToolsConnection? _devTools;

    public DevToolsConnection DevTools => _devTools ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing (./test.sh installs it with apt-get install chromium)");
        _process = ManagedProcess.Start("chromium", Executable,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={_profile}",
            "about:blank",
        ]);

        // Chromium writes the port it chose and the browser target's path into the profile.
        var portFile = Path.Combine(_profile, "DevToolsActivePort");
        var lines = await Eventually.ReturnsAsync(
            () =>
            {
                Assert.False(_process.HasExited, $"chromium exited while starting:\n{_process.Tail()}");
                return Task.FromResult(File.Exists(portFile) ? File.ReadAllLines(portFile) : []);
            },
            l => l.Length >= 2,
            TimeSpan.FromSeconds(60),
            "chromium's DevToolsActivePort");
        _devTools = await DevToolsConnection.ConnectAsync(new Uri($"ws://127.0.0.1:{lines[0]}{lines[1]}"));
    }

    /// <summary>
    /// Opens a new page (its own target) at <paramref name="url"/>, running <paramref name="initScript"/> before the
    /// page's own scripts. With <paramref name="recordRequests"/>, every request the page makes is kept in
    /// <see cref="BrowserPage.Requests"/> from the first one on.
    /// </summary>
    public async Task<BrowserPage> OpenAsync(Uri url, string? initScript = null, bool recordRequests = false)
    {
        var target = await DevTools.SendAsync("Target.createTarget", new { url = "about:blank" });
        var targetId = target.GetProperty("targetId").GetString()!;
        var attached = await DevTools.SendAsync("Target.attachToTarget", new { targetId, flatten = true });
        var page = new BrowserPage(DevTools, targetId, attached.GetProperty("sessionId").GetString()!);
        await page.EnableAsync();
        if (initScript is not null)
        {
            await DevTools.SendAsync("Page.addScriptToEvaluateOnNewDocument", new { source = initScript }, page.SessionId);
        }

        if (recordRequests)
        {
            await DevTools.SendAsync("Network.enable", sessionId: page.SessionId);
        }

        await page.NavigateAsync(url);
        return page;
    }

    public async Task DisposeAsync()
    {
        if (_devTools is not null)
        {
            await _devTools.DisposeAsync();
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // A crash dump written late; the temp folder is cleaned by the OS.
        }
    }
}

/// <summary>One page: evaluates script, and records every exception and error the page reports.</summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private readonly DevToolsConnection _devTools;
    private readonly string _targetId;
    private readonly string _sessionId;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _errors = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Url, string Headers)> _requests = new();

    internal BrowserPage(DevToolsConnection devTools, string targetId, string sessionId)
    {
        _devTools = devTools;
        _targetId = targetId;
        _sessionId = sessionId;
        _devTools.Event += OnEvent;
    }

    internal string SessionId => _sessionId;

    /// <summary>Uncaught exceptions, console.error calls and error log entries, in order.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    /// <summary>
    /// Requests the page made, when opened with <c>recordRequests</c>: the URL and the headers as sent (the
    /// network layer's extra-info event carries the ones the page's own event leaves out, such as Authorization).
    /// </summary>
    public IReadOnlyCollection<(string Url, string Headers)> Requests => _requests;

    /// <summary>A PNG of the page's viewport.</summary>
    public async Task<byte[]> CaptureScreenshotAsync()
    {
        var shot = await _devTools.SendAsync("Page.captureScreenshot", new { format = "png" }, _sessionId);
        return Convert.FromBase64String(shot.GetProperty("data").GetString()!);
    }

    /// <summary>Gives the page a laptop-sized viewport.</summary>
    public Task SetViewportAsync(int width, int height) =>
        _devTools.SendAsync("Emulation.setDeviceMetricsOverride", new { width, height, deviceScaleFactor = 1, mobile = false }, _sessionId);

    internal async Task EnableAsync()
    {
        await _devTools.SendAsync("Runtime.enable", sessionId: _sessionId);
        await _devTools.SendAsync("Log.enable", sessionId: _sessionId);
        await _devTools.SendAsync("Page.enable", sessionId: _sessionId);
    }

    internal async Task NavigateAsync(Uri url)
    {
        await _devTools.SendAsync("Page.navigate", new { url = url.ToString() }, _sessionId);
        await WaitForAsync("document.readyState === 'complete'", TimeSpan.FromSeconds(30), "the page to load");
    }

    /// <summary>Evaluates an expression (awaiting a promise) and returns its JSON value.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await _devTools.SendAsync("Runtime.evaluate", new { expression, awaitPromise = true, returnByValue = true }, _sessionId);
        if (result.TryGetProperty("exceptionDetails", out var exception))
        {
            throw new InvalidOperationException($"script failed: {DevToolsConnection.Describe(exception)}");
        }

        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Polls an expression until it is truthy.</summary>
    public Task WaitForAsync(string expression, TimeSpan timeout, string what) =>
        Eventually.ReturnsAsync(
            async () => await EvaluateAsync($"Boolean({expression})"),
            v => v.ValueKind == JsonValueKind.True,
            timeout,
            what);

    public async ValueTask DisposeAsync()
    {
        _devTools.Event -= OnEvent;
        try
        {
            await _devTools.SendAsync("Target.closeTarget", new { targetId = _targetId });
        }
        catch (InvalidOperationException)
        {
            // The browser is already gone.
        }
    }

    /// <summary>
    /// The browser's own report of a failed HLS request from the page's preview player: the network layer logs every
    /// failed request, and the preview polls for the playlist until FFmpeg has written it, and may ask for a segment
    /// the live window has just dropped. The preview is best effort; its misses are not the page's errors.
    /// </summary>
    private static bool IsHlsProbe(JsonElement entry) =>
        entry.GetProperty("source").GetString() == "network"
        && entry.TryGetProperty("url", out var url)
        && url.GetString() is { } u && u.Contains("/hls/", StringComparison.Ordinal);

    private void OnEvent(string method, string? sessionId, JsonElement parameters)
    {
        if (sessionId != _sessionId)
        {
            return;
        }

        switch (method)
        {
            case "Runtime.exceptionThrown":
                _errors.Enqueue($"exception: {DevToolsConnection.Describe(parameters.GetProperty("exceptionDetails"))}");
                break;
            case "Runtime.consoleAPICalled" when parameters.GetProperty("type").GetString() == "error":
                _errors.Enqueue($"console.error: {DevToolsConnection.Describe(parameters.GetProperty("args"))}");
                break;
            case "Network.requestWillBeSent":
                _requests.Enqueue((parameters.GetProperty("request").GetProperty("url").GetString()!, DevToolsConnection.Describe(parameters.GetProperty("request").GetProperty("headers"))));
                break;
            case "Network.requestWillBeSentExtraInfo":
                _requests.Enqueue(("", DevToolsConnection.Describe(parameters.GetProperty("headers"))));
                break;
            case "Log.entryAdded" when parameters.GetProperty("entry").GetProperty("level").GetString() == "error" && !IsHlsProbe(parameters.GetProperty("entry")):
                _errors.Enqueue($"log: {DevToolsConnection.Describe(parameters.GetProperty("entry"))}");
                break;
        }
    }
}
