using LiveStream.Ingest;
using LiveStream.Media;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>Grain tests with the real ffmpeg binary: graceful stop, and no process outlives its grain or silo.</summary>
public sealed class RealFfmpegTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _dataPath = TestClusters.NewDataPath();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = TestClusters.Build(_dataPath, runner: null);
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 120_000)]
    public async Task Graceful_stop_finalises_the_hls_playlist_and_leaves_no_ffmpeg()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var capture = MediaCapture.Load("audio-only-opus");
        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, capture.Chunks().Take(1));
        var pid = (await grain.GetSessionAsync(session.SessionId!))!.Ffmpeg.Pid!.Value;
        Assert.True(ProcessProbe.IsRunning(pid));

        await StreamFactory.WriteAllAsync(grain, session.Epoch, capture.ChunkSizes[0], capture.Chunks().Skip(1));
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);

        await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), TimeSpan.FromSeconds(60), "FFmpeg to finish its graceful stop");
        var playlist = await File.ReadAllTextAsync(Path.Combine(SessionPipeline.HlsDirectory(_dataPath, session.SessionId!), "index.m3u8"));
        Assert.Contains("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
        Assert.Equal(SessionState.Ended, (await grain.GetSessionAsync(session.SessionId!))!.State);
    }

    [Fact(Timeout = 120_000)]
    public async Task Deactivating_the_grain_leaves_no_ffmpeg()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().Take(5));
        var pid = (await grain.GetSessionAsync(session.SessionId!))!.Ffmpeg.Pid!.Value;

        await _cluster.DeactivateAsync(grain);

        Assert.False(ProcessProbe.IsRunning(pid));
    }

    [Fact(Timeout = 120_000)]
    public async Task Stopping_the_silo_leaves_no_ffmpeg()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().Take(2));
        var pid = (await grain.GetSessionAsync(session.SessionId!))!.Ffmpeg.Pid!.Value;
        var supervisor = _cluster.Silos[0].ServiceProvider.GetRequiredService<MediaProcessSupervisor>();
        Assert.Contains(pid, supervisor.RunningProcessIds);

        await _cluster.StopAllSilosAsync();

        await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), Timeout, "ffmpeg to exit with its silo");
        Assert.Empty(supervisor.RunningProcessIds);
    }
}
