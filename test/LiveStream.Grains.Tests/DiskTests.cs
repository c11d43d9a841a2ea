using LiveStream.Ingest;
using LiveStream.Options;
using LiveStream.Sessions;
using LiveStream.Storage;
using LiveStream.Streams;
using LiveStream.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>Disk limits with the real ffmpeg: a stream over its quota fails alone and cleanly; old files go.</summary>
public sealed class DiskTests : IAsyncLifetime
{
    private const long Quota = 60_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dataPath = TestClusters.NewDataPath();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        // The bystander's FFmpeg must be the same one at the end: with the default lease (3 s), a test process
        // stalled for 2.5 s between renewals (the whole suite on 2 cores) is fenced off by design and the session
        // picked up again with a new FFmpeg (a move: LeaseTests, LeaseLapseTests), which is not what this tests.
        _cluster = TestClusters.Build(_dataPath, runner: null, settings: new Dictionary<string, string>
        {
            ["LiveStream:Lease:Ttl"] = "00:10:00",
            ["LiveStream:Retention:StreamQuotaBytes"] = Quota.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LiveStream:Retention:QuotaCheckInterval"] = "00:00:00.200",
        });
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_stream_over_its_quota_fails_with_4500_cleanly_and_alone()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var chunks = capture.Chunks().ToList();
        Assert.True(capture.Bytes.Length > Quota);
        var (full, fullHash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true), new OutputSpec(OutputType.Archive)]);
        var (other, otherHash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true), new OutputSpec(OutputType.Archive)]);
        var session = await StreamFactory.ConnectAsync(full, fullHash);
        var bystander = await StreamFactory.ConnectAsync(other, otherHash);
        var bystanderOffset = await StreamFactory.WriteAllAsync(other, bystander.Epoch, 0, chunks.Take(3));
        var bystanderPid = (await other.GetSessionAsync(bystander.SessionId!))!.Ffmpeg.Pid;

        // The capture (82 KB) is more than the quota: somewhere along it, or just after, the session is failed.
        long offset = 0;
        WriteResult? refused = null;
        var deadline = DateTime.UtcNow + Timeout;
        while (refused is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the session over its quota was not closed");
            var length = (int)Math.Min(4096, capture.Bytes.Length - offset);
            var result = await full.WriteAsync(new ChunkWrite(session.Epoch, offset, capture.Bytes.AsMemory((int)offset, length)));
            if (result.Outcome == WriteOutcome.Closed)
            {
                refused = result;
            }
            else
            {
                offset = result.Committed;
                await Task.Delay(20);
            }
        }

        Assert.Equal(CloseCodes.SessionFailed, refused!.CloseCode);
        var failed = (await full.GetSessionAsync(session.SessionId!))!;
        Assert.Equal(SessionState.Failed, failed.State);
        Assert.StartsWith("disk quota exceeded", failed.EndReason, StringComparison.Ordinal);
        var hls = DataLayout.HlsDirectory(_dataPath, session.SessionId!);
        await Eventually.HoldsAsync(() => ProcessProbe.FindFfmpegUnder(hls).Count == 0, Timeout, "the session's FFmpeg to finish");
        Assert.Contains("#EXT-X-ENDLIST", await File.ReadAllTextAsync(Path.Combine(hls, "index.m3u8")), StringComparison.Ordinal);

        // The other stream goes on with its own FFmpeg (it is well under its own quota).
        await StreamFactory.WriteAllAsync(other, bystander.Epoch, bystanderOffset, chunks.Skip(3).Take(2));
        var still = (await other.GetSessionAsync(bystander.SessionId!))!;
        Assert.True(
            (still.State, still.Ffmpeg.Pid) == (SessionState.Active, bystanderPid),
            $"the bystander was disturbed: {still.State}, FFmpeg {bystanderPid} -> {still.Ffmpeg.Pid}, restarts {still.Ffmpeg.Restarts}, last error: {still.Ffmpeg.LastError}, end reason: {still.EndReason}");
    }

    [Fact]
    public void Files_of_sessions_past_their_retention_are_removed_and_newer_ones_kept()
    {
        var root = Directory.CreateTempSubdirectory("livestream-retention-").FullName;
        try
        {
            var now = DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
            var old = MakeSession(root, "st-old-aaaaaaaaaaaa", now - TimeSpan.FromDays(10));
            var recent = MakeSession(root, "st-new-bbbbbbbbbbbb", now - TimeSpan.FromDays(2));
            var sweeper = new RetentionSweeper(
                Microsoft.Extensions.Options.Options.Create(new RetentionOptions { Days = 7 }),
                Microsoft.Extensions.Options.Options.Create(new LiveStreamOptions { DataPath = root }),
                TimeProvider.System,
                NullLogger<RetentionSweeper>.Instance);

            var removed = sweeper.Sweep(now);

            Assert.Equal(2, removed);
            Assert.All(old, folder => Assert.False(Directory.Exists(folder)));
            Assert.All(recent, folder => Assert.True(Directory.Exists(folder)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_folder_that_cannot_be_removed_is_skipped_and_the_sweep_goes_on()
    {
        var root = Directory.CreateTempSubdirectory("livestream-retention-").FullName;
        try
        {
            var now = DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
            var stuck = MakeSession(root, "st-stuck-aaaaaaaaaa", now - TimeSpan.FromDays(10));
            var others = Enumerable.Range(0, 3).SelectMany(i => MakeSession(root, $"st-old{i}-bbbbbbbbbbbb", now - TimeSpan.FromDays(10))).ToList();
            var attempts = new List<string>();
            var sweeper = new RetentionSweeper(
                Microsoft.Extensions.Options.Options.Create(new RetentionOptions { Days = 7 }),
                Microsoft.Extensions.Options.Options.Create(new LiveStreamOptions { DataPath = root }),
                TimeProvider.System,
                NullLogger<RetentionSweeper>.Instance)
            {
                DeleteFolder = folder =>
                {
                    attempts.Add(folder);
                    if (stuck.Contains(folder))
                    {
                        throw new IOException("injected: device or resource busy");
                    }

                    Directory.Delete(folder, recursive: true);
                },
            };

            var removed = sweeper.Sweep(now);

            Assert.Equal(6, removed);
            Assert.Equal(8, attempts.Count);
            Assert.All(others, folder => Assert.False(Directory.Exists(folder)));
            Assert.All(stuck, folder => Assert.True(Directory.Exists(folder)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A session's archive and HLS folders, every file last written at <paramref name="at"/>.</summary>
    private static string[] MakeSession(string root, string sessionId, DateTimeOffset at)
    {
        var archive = DataLayout.ArchivePath(root, sessionId);
        var hls = DataLayout.HlsDirectory(root, sessionId);
        Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
        Directory.CreateDirectory(hls);
        foreach (var file in new[] { archive, Path.Combine(hls, "index.m3u8"), Path.Combine(hls, "seg_00000.ts") })
        {
            File.WriteAllText(file, "x");
            File.SetLastWriteTimeUtc(file, at.UtcDateTime);
        }

        return [Path.GetDirectoryName(archive)!, hls];
    }
}
