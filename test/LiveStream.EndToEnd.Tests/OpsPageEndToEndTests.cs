using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// The operations page (<c>/ops</c>) in a real headless Chromium against the silo and gateway processes, while a
/// real capture is published at its recorded pace.
/// </summary>
[Collection(ProcessCluster.Name)]
public sealed class OpsPageEndToEndTests(LiveStreamProcesses cluster, ChromiumBrowser browser, ITestOutputHelper output) : IClassFixture<ChromiumBrowser>
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 240_000)]
    public async Task The_ops_page_asks_for_the_token_once_and_shows_a_live_session_whose_bitrate_updates_without_a_reload()
    {
        var stream = await cluster.CreateStreamAsync(new { name = "ops page", outputs = new object[] { new { type = "hls" } } });
        await using var page = await browser.OpenAsync(new Uri(cluster.GatewayUrl, "/ops"), recordRequests: true);
        await page.SetViewportAsync(1440, 900);

        // The page asks for the token, keeps it for the tab only, and starts refreshing.
        await page.WaitForAsync($"{Shown("login")} && !{Shown("dashboard")}", Step, "the token prompt alone");
        await page.EvaluateAsync($"document.getElementById('token').value = {JsonSerializer.Serialize(cluster.AdminToken)}; document.getElementById('login').requestSubmit(); true");
        await page.WaitForAsync($"window.ops.refreshes >= 1 && {Shown("dashboard")} && !{Shown("login")}", Step, "the first refresh, without the prompt");
        await page.WaitForAsync("document.querySelector('#members [data-field=status][data-state=active]') !== null", Step, "the active silo in the members table");

        // A real capture at its recorded pace (20 s), published only now so the page sees it from its start.
        var capture = MediaCapture.Load("h264-opus-mkv");
        using var stopPublishing = new CancellationTokenSource();
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);
        var sessionId = publisher.SessionId;
        var publishing = PublishAtPaceAsync(publisher, capture, stopPublishing.Token);

        var row = $"document.querySelector('#sessions tr[data-session-id=\"{sessionId}\"]')";
        var bitrate = $"Number({row}?.querySelector('[data-field=bitrate]').dataset.bps || 0)";
        await page.WaitForAsync($"{bitrate} > 0", Step, "the session listed with a non-zero bitrate");
        var first = (await page.EvaluateAsync(bitrate)).GetDouble();
        var refreshes = (await page.EvaluateAsync("window.ops.refreshes")).GetInt32();
        await page.WaitForAsync($"window.ops.refreshes > {refreshes} && {bitrate} > 0 && {bitrate} !== {first.ToString(CultureInfo.InvariantCulture)}", Step, "the bitrate to update");

        Assert.Equal("active", (await page.EvaluateAsync($"{row}.querySelector('[data-field=state]').textContent")).GetString());
        Assert.Equal("ops page", (await page.EvaluateAsync($"{row}.cells[0].textContent")).GetString());
        Assert.NotEqual("–", (await page.EvaluateAsync($"{row}.querySelector('[data-field=silo]').textContent")).GetString());
        Assert.Contains("hls", (await page.EvaluateAsync($"{row}.querySelector('[data-field=outputs]').textContent")).GetString(), StringComparison.Ordinal);
        // The capture is about 400 kbit/s; the page's figure must be that order of magnitude, not bytes or kbit.
        Assert.InRange((await page.EvaluateAsync(bitrate)).GetDouble(), 50_000, 5_000_000);

        // Charts of the last minutes: the session's bitrate and FPS as sparklines in its row, live sessions per silo
        // as a line per silo. They grow with every refresh.
        var spark = $"{row}?.querySelector('[data-field=bitrate] svg.spark')";
        var fpsSpark = $"{row}?.querySelector('[data-field=fps] svg.spark')";
        var siloLine = "document.querySelector('#silo-chart svg.chart g[data-series]')";
        await page.WaitForAsync(
            $"Number({spark}?.dataset.points ?? 0) >= 4 && {spark}.querySelectorAll('polyline').length >= 1 && Number({fpsSpark}?.dataset.points ?? 0) >= 2 && Number({siloLine}?.dataset.points ?? 0) >= 4",
            Step,
            "bitrate, FPS and sessions-per-silo charts with several points");
        var points = (await page.EvaluateAsync($"Number({spark}.dataset.points)")).GetInt32();
        await page.WaitForAsync($"Number({spark}.dataset.points) > {points}", Step, "the bitrate chart to grow on the next refreshes");
        Assert.InRange(double.Parse((await page.EvaluateAsync($"{spark}.dataset.last")).GetString()!, CultureInfo.InvariantCulture), 50_000, 5_000_000);
        Assert.True((await page.EvaluateAsync($"{spark}.querySelector('polyline').points.numberOfItems >= 2")).GetBoolean(), "the sparkline draws a line");
        var lines = (await page.EvaluateAsync("document.querySelectorAll('#silo-chart svg.chart g[data-series]').length")).GetInt32();
        var silos = (await page.EvaluateAsync("document.querySelectorAll('#members [data-field=status][data-state=active]').length")).GetInt32();
        Assert.Equal(silos, lines);
        Assert.True(
            (await page.EvaluateAsync("[...document.querySelectorAll('#silo-chart g[data-series]')].reduce((n, g) => n + Number(g.dataset.last), 0) === document.querySelectorAll('#sessions tr[data-session-id]').length")).GetBoolean(),
            "the silo chart's last values add up to the live sessions listed");

        var screenshot = Path.Combine(RepoPaths.Root, "test", "artifacts", $"ops-page-{DateTime.UtcNow:yyyyMMdd-HHmmss}.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await File.WriteAllBytesAsync(screenshot, await page.CaptureScreenshotAsync());
        output.WriteLine($"ops page screenshot: {screenshot}");
        Console.WriteLine($"ops page screenshot: {screenshot}");

        // Asked once: a reload of the tab finds the token in sessionStorage and never in localStorage.
        await page.EvaluateAsync("window.beforeReload = true; location.reload(); true");
        await page.WaitForAsync($"window.beforeReload === undefined && document.readyState === 'complete' && window.ops?.refreshes >= 1 && {row} !== null", Step, "the reloaded page to list the session");
        Assert.False((await page.EvaluateAsync(Shown("login"))).GetBoolean(), "the reloaded page asked for the token again");
        Assert.Equal(cluster.AdminToken, (await page.EvaluateAsync("sessionStorage.getItem('livestream.adminToken')")).GetString());
        Assert.Equal(0, (await page.EvaluateAsync("localStorage.length")).GetInt32());

        // The session ends: the page drops it on its next refresh.
        await stopPublishing.CancelAsync();
        await publishing;
        await publisher.EndAsync();
        await page.WaitForAsync($"{row} === null", Step, "the ended session to leave the page");

        // The token went in the Authorization header of the API calls, and into no URL the page requested.
        var requests = page.Requests.ToList();
        Assert.Contains(requests, r => r.Url.Contains("/api/sessions", StringComparison.Ordinal));
        Assert.Contains(requests, r => r.Headers.Contains($"Bearer {cluster.AdminToken}", StringComparison.Ordinal));
        Assert.All(requests.Where(r => r.Url.Length > 0), r => Assert.DoesNotContain(cluster.AdminToken, Uri.UnescapeDataString(r.Url), StringComparison.Ordinal));
        Assert.DoesNotContain(cluster.AdminToken, (await page.EvaluateAsync("location.href")).GetString(), StringComparison.Ordinal);
        Assert.True(page.Errors.Count == 0, string.Join('\n', page.Errors));
    }

    /// <summary>An expression true when the element is rendered (not hidden by an attribute or a style).</summary>
    private static string Shown(string id) => $"(document.getElementById('{id}').offsetParent !== null)";

    /// <summary>Sends the capture's chunks at the times the recorder produced them, until it ends or is cancelled.</summary>
    private static async Task PublishAtPaceAsync(V1Publisher publisher, MediaCapture capture, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long offset = 0;
        var index = 0;
        try
        {
            foreach (var chunk in capture.Chunks())
            {
                var due = TimeSpan.FromMilliseconds(capture.ChunkTimesMs[index++]) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, cancellationToken);
                }

                if (!chunk.IsEmpty)
                {
                    // Not cancelled mid-send: a cancelled WebSocket send aborts the connection.
                    await publisher.SendAsync(offset, chunk);
                    offset += chunk.Length;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The test has seen what it needed; the session is ended by the caller.
        }
    }
}
