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
        // These tests are about FFmpeg, not leases: a lease that outlives a starved timer on a busy machine (the
        // default gives a holder 2.5 s without a renewal before it stops its session).
        _cluster = TestClusters.Build(_dataPath, runner: null, settings: new Dictionary<string, string>
        {
            ["LiveStream:Lease:Ttl"] = "00:00:30",
            ["LiveStream:Lease:StopMargin"] = "00:00:01",
        });
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
        var playlist = await File.ReadAllTextAsync(Path.Combine(DataLayout.HlsDirectory(_dataPath, session.SessionId!), "index.m3u8"));
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

    [Fact(Timeout = 180_000)]
    public async Task Live_hls_without_record_keeps_a_sliding_window_and_deletes_older_segments()
    {
        var (directory, playlist) = await PublishWholeCaptureAsync(new OutputSpec(OutputType.Hls));

        // 20 s of media in 2 s segments is about 10 segments: the window (6 by default) must have dropped some.
        Assert.Equal(6, HlsPlaylist.Segments(playlist));
        Assert.DoesNotContain("#EXT-X-PLAYLIST-TYPE", playlist, StringComparison.Ordinal);
        Assert.Matches(@"#EXT-X-MEDIA-SEQUENCE:[1-9]", playlist);
        var onDisk = Directory.GetFiles(directory, "seg_*.ts").Length;
        Assert.InRange(onDisk, 6, 6 + 2);
        Assert.False(File.Exists(Path.Combine(directory, "seg_00000.ts")), "the first segment left the window and must be deleted");
    }

    [Fact(Timeout = 180_000)]
    public async Task Hls_with_record_lists_and_keeps_every_segment()
    {
        var (directory, playlist) = await PublishWholeCaptureAsync(new OutputSpec(OutputType.Hls, Record: true));

        Assert.Contains("#EXT-X-PLAYLIST-TYPE:EVENT", playlist, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:0", playlist, StringComparison.Ordinal);
        Assert.InRange(HlsPlaylist.Segments(playlist), 9, 11);
        Assert.Equal(HlsPlaylist.Segments(playlist), Directory.GetFiles(directory, "seg_*.ts").Length);
    }

    /// <summary>Publishes a whole 20 s capture to a new stream with <paramref name="hls"/>, ends it, and answers its finalised playlist.</summary>
    private async Task<(string Directory, string Playlist)> PublishWholeCaptureAsync(OutputSpec hls)
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [hls]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, MediaCapture.Load("h264-opus-mkv").Chunks());
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);

        var directory = DataLayout.HlsDirectory(_dataPath, session.SessionId!);
        var playlistPath = Path.Combine(directory, "index.m3u8");
        await Eventually.HoldsAsync(
            () => File.Exists(playlistPath) && File.ReadAllText(playlistPath).Contains("#EXT-X-ENDLIST", StringComparison.Ordinal),
            TimeSpan.FromSeconds(90),
            "FFmpeg to finalise the playlist");
        return (directory, await File.ReadAllTextAsync(playlistPath));
    }
}
