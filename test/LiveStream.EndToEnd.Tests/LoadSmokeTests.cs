using System.Text.Json;
using LiveStream.Testing;
using LiveStream.Testing.Load;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// The load generator of <c>./bench.sh</c>, run small against real processes: correctness under drops and a
/// duplicate publisher, never speed (the figures are the benchmark's business).
/// </summary>
[Collection(ProcessCluster.Name)]
public sealed class LoadSmokeTests(LiveStreamProcesses cluster)
{
    [Fact(Timeout = 180_000)]
    public async Task A_few_publishers_dropped_at_random_and_one_taken_over_lose_no_byte_and_keep_one_session_and_one_ffmpeg_per_stream()
    {
        var capture = MediaCapture.Load("h264-opus-mkv");
        var archived = await LoadStreams.CreateAsync(cluster.Api, 4, sampled: 4);
        var withHls = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls" }, new { type = "archive" } } });
        IReadOnlyList<LoadStream> streams = [new LoadStream(withHls.Id, withHls.IngestUrl, Sampled: true), .. archived];
        var settings = new LoadSettings
        {
            Publishers = streams.Count,
            Loop = false,
            RampUp = TimeSpan.FromSeconds(1),
            Duration = TimeSpan.FromSeconds(8),
            DropEvery = TimeSpan.FromSeconds(2),
            Duplicates = 1,
            Seed = 10,
        };

        var run = LoadRun.Start(streams, capture, settings);
        var hls = run.Streams[0];
        var ffmpegs = new HashSet<int>();
        while (!run.Completion.IsCompleted)
        {
            // Other suites' sessions may still be in their reconnect window: only this session's FFmpeg counts.
            foreach (var session in hls.Sessions.Keys)
            {
                ffmpegs.UnionWith(ProcessProbe.FindFfmpegUnder(Path.Combine(cluster.DataPath, "hls", session)));
            }

            await Task.WhenAny(run.Completion, Task.Delay(100));
        }

        await run.Completion;
        Assert.Empty(run.Stats.Errors);
        Assert.True(run.Stats.Drops >= streams.Count, $"expected every publisher to be dropped at least once; drops: {run.Stats.Drops}");
        Assert.Equal(1, run.Stats.Closes.GetValueOrDefault("expected 4409 (taken over)"));
        Assert.Equal(streams.Count, run.Stats.Closes.GetValueOrDefault("expected 1000 (end)"));
        Assert.Empty(await run.CheckArchivesAsync(cluster.Api));

        // The one stream with HLS ran one FFmpeg through every drop and the takeover.
        Assert.Single(ffmpegs);
        foreach (var stream in run.Streams)
        {
            var sessions = await cluster.GetJsonAsync($"/api/streams/{stream.Stream.Id}/sessions");
            var session = Assert.Single(sessions.EnumerateArray());
            Assert.Equal("ended", session.GetProperty("state").GetString());
            // A reopened socket resumes the session: as a reconnect, or as a takeover when it arrives before the
            // gateway has seen the old one drop.
            Assert.True(session.GetProperty("reconnects").GetInt32() + session.GetProperty("supersededPublishers").GetInt32() >= 1, session.ToString());
            Assert.True(stream.Acked > capture.Bytes.Length / 4, $"stream {stream.Stream.Id}: only {stream.Acked} bytes acknowledged");
            if (stream.Stream.Id == withHls.Id)
            {
                Assert.Equal(0, session.GetProperty("ffmpeg").GetProperty("restarts").GetInt32());
                Assert.Equal(JsonValueKind.Null, session.GetProperty("ffmpeg").GetProperty("lastError").ValueKind);
            }
        }
    }
}
