using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>A silo killed with -9 takes its FFmpegs with it: none keeps writing outputs a new owner will write.</summary>
public sealed class SiloDeathEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _dataPath = Directory.CreateTempSubdirectory("livestream-silo-death-").FullName;
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private ManagedProcess _embedded = null!;
    private Uri _url = null!;

    public async Task InitializeAsync()
    {
        _url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        _embedded = ManagedProcess.Start("embedded", "dotnet",
        [
            RepoPaths.ProgramDll("Gateway"), "--urls", _url.ToString().TrimEnd('/'),
            $"--LiveStream:AdminToken={_token}", $"--LiveStream:DataPath={_dataPath}",
            $"--LiveStream:Cluster:SiloPort={FreePort.Next()}", $"--LiveStream:Cluster:GatewayPort={FreePort.Next()}",
        ]);
        await ClusterApi.WaitReadyAsync(new Uri(_url, "/health/ready"));
    }

    public async Task DisposeAsync()
    {
        await _embedded.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 120_000)]
    public async Task Ffmpeg_dies_with_its_silo_on_kill_9_and_never_ends_the_playlist()
    {
        using var api = new HttpClient { BaseAddress = _url };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        using var created = await api.PostAsJsonAsync("/api/streams", new { });
        var stream = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var capture = MediaCapture.Load("audio-only-opus");
        await using var publisher = await Publisher.ConnectAsync(new Uri(stream.GetProperty("ingestUrl").GetString()!));
        foreach (var chunk in capture.Chunks().Take(12))
        {
            await publisher.SendAsync(chunk);
        }

        var session = await Eventually.ReturnsAsync(
            async () => JsonDocument.Parse(await api.GetStringAsync($"/api/streams/{stream.GetProperty("id").GetString()}/sessions")).RootElement,
            s => s.GetArrayLength() == 1 && s[0].GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Number,
            Wait,
            "FFmpeg to run");
        var pid = session[0].GetProperty("ffmpeg").GetProperty("pid").GetInt32();
        var playlist = Path.Combine(_dataPath, "hls", session[0].GetProperty("id").GetString()!, "index.m3u8");
        await Eventually.HoldsAsync(() => File.Exists(playlist), Wait, "the first segment");

        _embedded.Signal("KILL");

        await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), TimeSpan.FromSeconds(10), "FFmpeg to die with its silo");
        Assert.DoesNotContain("#EXT-X-ENDLIST", await File.ReadAllTextAsync(playlist), StringComparison.Ordinal);
    }
}
