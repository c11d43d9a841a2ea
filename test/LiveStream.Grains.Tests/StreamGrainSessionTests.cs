using System.Security.Cryptography;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;

namespace LiveStream.Grains.Tests;

[Collection(FakeMediaCluster.Name)]
public sealed class StreamGrainSessionTests(FakeMediaClusterFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly MediaCapture Audio = MediaCapture.Load("audio-only-opus");

    private IGrainFactory Grains => fixture.Client;

    [Fact(Timeout = 30_000)]
    public async Task Connect_to_a_stream_that_does_not_exist_is_refused_with_4401()
    {
        var grain = Grains.GetGrain<IStreamGrain>(SessionIds.NewStreamId());

        var result = await StreamFactory.ConnectAsync(grain, SHA256.HashData([1, 2, 3]));

        Assert.False(result.Accepted);
        Assert.Equal(CloseCodes.UnknownKey, result.CloseCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task Connect_with_the_wrong_key_hash_is_refused_with_4401_and_starts_nothing()
    {
        var (grain, _) = await StreamFactory.CreateAsync(Grains);

        var result = await StreamFactory.ConnectAsync(grain, SHA256.HashData([9, 9, 9]));

        Assert.False(result.Accepted);
        Assert.Equal(CloseCodes.UnknownKey, result.CloseCode);
        Assert.Empty(await grain.ListSessionsAsync());
    }

    [Fact(Timeout = 30_000)]
    public async Task First_connection_starts_an_active_session_with_one_process()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);

        var result = await StreamFactory.ConnectAsync(grain, hash);
        Assert.Empty(fixture.Runner.For(result.SessionId!));
        await grain.WriteAsync(new ChunkWrite(result.Epoch, 0, Audio.Chunks().First()));

        Assert.True(result.Accepted);
        Assert.Equal(1, result.Epoch);
        Assert.Equal(0, result.ResumeFrom);
        var status = await grain.GetSessionAsync(result.SessionId!);
        Assert.NotNull(status);
        Assert.Equal(SessionState.Active, status.State);
        var process = Assert.Single(fixture.Runner.For(result.SessionId!));
        Assert.Equal(process.Id, status.Ffmpeg.Pid);
        Assert.Equal("opus", status.Audio?.Codec);
        Assert.Null(status.Video);
        Assert.Equal(StreamState.Live, (await grain.GetAsync())!.State);
        Assert.Equal(result.SessionId, (await grain.GetAsync())!.CurrentSessionId);
    }

    [Fact(Timeout = 30_000)]
    public async Task Writes_are_committed_in_offset_order_and_overlap_is_trimmed()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var bytes = Audio.Bytes[..10_000];

        var first = await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, bytes.AsMemory(0, 4000)));
        var resend = await grain.WriteAsync(new ChunkWrite(session.Epoch, 1000, bytes.AsMemory(1000, 2000)));
        var overlap = await grain.WriteAsync(new ChunkWrite(session.Epoch, 3000, bytes.AsMemory(3000, 7000)));

        Assert.Equal((WriteOutcome.Committed, 4000L), (first.Outcome, first.Committed));
        Assert.Equal((WriteOutcome.Committed, 4000L), (resend.Outcome, resend.Committed));
        Assert.Equal((WriteOutcome.Committed, 10_000L), (overlap.Outcome, overlap.Committed));
        var process = Assert.Single(fixture.Runner.For(session.SessionId!));
        // FFmpeg gets whole elements: the element the 10,000 bytes cut waits for its rest.
        var whole = Media.WholeElements.Of(bytes);
        await Eventually.HoldsAsync(() => process.Received.Length == whole.Length, Timeout, "the process to read every whole element");
        Assert.Equal(whole, process.Received);
        Assert.Equal(10_000, (await grain.GetSessionAsync(session.SessionId!))!.BytesIngested);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_write_past_the_committed_offset_is_a_gap_and_commits_nothing()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, Audio.Bytes.AsMemory(0, 100)));

        var gap = await grain.WriteAsync(new ChunkWrite(session.Epoch, 101, Audio.Bytes.AsMemory(101, 100)));

        Assert.Equal(WriteOutcome.Gap, gap.Outcome);
        Assert.Equal(CloseCodes.ProtocolViolation, gap.CloseCode);
        Assert.Equal(100, gap.Committed);
    }

    [Fact(Timeout = 30_000)]
    public async Task End_stops_the_process_gracefully_and_the_next_connection_starts_a_new_session()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var first = await StreamFactory.ConnectAsync(grain, hash);
        var payload = Audio.Bytes[..5000];
        await grain.WriteAsync(new ChunkWrite(first.Epoch, 0, payload));

        await grain.DisconnectAsync(first.Epoch, DisconnectKind.End, CloseCodes.Normal);

        var process = Assert.Single(fixture.Runner.For(first.SessionId!));
        Assert.True(process.StopRequested);
        Assert.False(process.Killed);
        Assert.Equal(payload, process.Received);
        var ended = (await grain.GetSessionAsync(first.SessionId!))!;
        Assert.Equal(SessionState.Ended, ended.State);
        Assert.NotNull(ended.EndedAt);
        Assert.Null(ended.Ffmpeg.Pid);
        Assert.Equal(StreamState.Idle, (await grain.GetAsync())!.State);
        var late = await grain.WriteAsync(new ChunkWrite(first.Epoch, 5000, new byte[10]));
        Assert.Equal(WriteOutcome.Closed, late.Outcome);

        var second = await StreamFactory.ConnectAsync(grain, hash);

        Assert.True(second.Accepted);
        Assert.NotEqual(first.SessionId, second.SessionId);
        Assert.Equal(0, second.ResumeFrom);
        var sessions = await grain.ListSessionsAsync();
        Assert.Equal([second.SessionId, first.SessionId], sessions.Select(s => s.Id));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_second_publisher_takes_over_and_the_older_epoch_can_no_longer_write()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var older = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(older.Epoch, 0, Audio.Bytes.AsMemory(0, 100)));

        var newer = await StreamFactory.ConnectAsync(grain, hash);
        var stale = await grain.WriteAsync(new ChunkWrite(older.Epoch, 100, Audio.Bytes.AsMemory(100, 100)));

        Assert.Equal(older.SessionId, newer.SessionId);
        Assert.Equal(older.Epoch + 1, newer.Epoch);
        Assert.Equal(100, newer.ResumeFrom);
        Assert.Equal(WriteOutcome.Closed, stale.Outcome);
        Assert.Equal(CloseCodes.Superseded, stale.CloseCode);
        Assert.True(fixture.Runner.For(older.SessionId!).Count <= 1);
        var status = (await grain.GetSessionAsync(older.SessionId!))!;
        Assert.Equal(1, status.SupersededPublishers);
        Assert.Equal(100, status.BytesIngested);

        // The superseded connection's close must not end the session the newer one publishes to.
        await grain.DisconnectAsync(older.Epoch, DisconnectKind.End, CloseCodes.Normal);
        Assert.Equal(SessionState.Active, (await grain.GetSessionAsync(older.SessionId!))!.State);
    }

    [Fact(Timeout = 30_000)]
    public async Task Policy_reject_refuses_a_second_publisher_with_4423()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, policy: DuplicatePolicy.Reject);
        var first = await StreamFactory.ConnectAsync(grain, hash);

        var second = await StreamFactory.ConnectAsync(grain, hash);

        Assert.False(second.Accepted);
        Assert.Equal(CloseCodes.AlreadyLive, second.CloseCode);
        Assert.Equal(first.Epoch, (await grain.GetSessionAsync(first.SessionId!))!.ConnectionEpoch);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_stalled_process_fills_the_bounded_buffer_but_status_and_end_still_answer()
    {
        var (grain, session, video, process) = await StartStalledAsync();

        long offset = 32 * 1024;
        WriteResult result;
        do
        {
            Assert.True(offset + (32 * 1024) < video.Length, "the buffer never filled");
            result = await grain.WriteAsync(new ChunkWrite(session.Epoch, offset, video.AsMemory((int)offset, 32 * 1024)));
            offset = result.Committed;
        }
        while (result.Outcome == WriteOutcome.Committed);

        Assert.Equal(WriteOutcome.BufferFull, result.Outcome);
        var status = (await grain.GetSessionAsync(session.SessionId!))!;
        Assert.InRange(status.BufferedBytes, 1, 256 * 1024);

        process.Resume();
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        Assert.Equal(SessionState.Ended, (await grain.GetSessionAsync(session.SessionId!))!.State);
        Assert.Equal(offset, process.Received.Length);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_write_takes_only_what_fits_and_bytes_held_back_count_so_the_buffer_never_holds_more_than_its_capacity()
    {
        var (grain, session, video, process) = await StartStalledAsync();

        // Pieces larger than the buffer, then ever smaller ones, that end mid-element (the router holds their tail back
        // until the element is whole); the buffer takes what fits. Near full, a small piece that completes a held element
        // releases more than its own bytes.
        long offset = 32 * 1024;
        var piece = 300_001;
        var writes = 0;
        while (piece > 0 && offset + piece < video.Length)
        {
            var result = await grain.WriteAsync(new ChunkWrite(session.Epoch, offset, video.AsMemory((int)offset, piece)));
            writes++;
            if (result.Outcome == WriteOutcome.Committed)
            {
                offset = result.Committed;
                var buffered = (await grain.GetSessionAsync(session.SessionId!))!.BufferedBytes;
                Assert.True(buffered <= 256 * 1024, $"{buffered} bytes buffered after write {writes} (capacity 262144)");
            }
            else
            {
                Assert.Equal(WriteOutcome.BufferFull, result.Outcome);
                piece /= 3;
            }
        }

        Assert.True(writes > 10, $"{writes} writes");
        process.Resume();
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        Assert.Equal(SessionState.Ended, (await grain.GetSessionAsync(session.SessionId!))!.State);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_process_that_dies_is_restarted_and_after_too_many_restarts_the_session_fails_with_4500()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, Audio.Chunks().First()));

        for (var restart = 1; restart <= 5; restart++)
        {
            var crashed = fixture.Runner.For(session.SessionId!)[^1];
            crashed.Crash(exitCode: 1, lastError: $"crash {restart}");
            if (restart >= 2)
            {
                // Backoff: no restart before 2^(n-2) s of (fake) time have passed.
                fixture.Time.Advance(TimeSpan.FromMilliseconds(100));
                var early = await Eventually.ReturnsAsync(() => grain.GetSessionAsync(session.SessionId!), s => s!.Ffmpeg.LastError == $"crash {restart}", Timeout, "the death to be seen");
                Assert.Equal(restart - 1, early!.Ffmpeg.Restarts);
            }

            var restarted = await Eventually.ReturnsAsync(
                () =>
                {
                    fixture.Time.Advance(TimeSpan.FromMilliseconds(100));
                    return grain.GetSessionAsync(session.SessionId!);
                },
                s => s!.Ffmpeg.Restarts == restart,
                Timeout,
                $"restart {restart}");
            Assert.Equal(SessionState.Active, restarted!.State);
            Assert.Equal(fixture.Runner.For(session.SessionId!)[^1].Id, restarted.Ffmpeg.Pid);
        }

        fixture.Runner.For(session.SessionId!)[^1].Crash(exitCode: 1, lastError: "Conversion failed!");

        // The session's timer runs on the silo's (fake) clock: move it along while waiting.
        var status = await Eventually.ReturnsAsync(
            () =>
            {
                fixture.Time.Advance(TimeSpan.FromMilliseconds(100));
                return grain.GetSessionAsync(session.SessionId!);
            },
            s => s!.State == SessionState.Failed,
            Timeout,
            "the session to fail");
        Assert.Contains("exited with code 1", status!.EndReason, StringComparison.Ordinal);
        Assert.Equal("Conversion failed!", status.Ffmpeg.LastError);
        var write = await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, new byte[10]));
        Assert.Equal((WriteOutcome.Closed, CloseCodes.SessionFailed), (write.Outcome, write.CloseCode));
    }

    [Fact(Timeout = 30_000)]
    public async Task More_incompatible_recorder_restarts_than_the_budget_allows_fail_the_session_with_4415()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var recordings = new[] { MediaCapture.Load("vp8-opus-restart/a"), MediaCapture.Load("h264-opus-restart/b") };
        long offset = 0;
        WriteResult result = null!;

        // A page that reloads again and again, each time cut in the middle of its recording, and switching codec:
        // every new recording needs a new FFmpeg; the sixth one is over the budget of five.
        for (var i = 0; i < 7 && result?.Outcome != WriteOutcome.Closed; i++)
        {
            var connection = i == 0 ? session : await StreamFactory.ConnectAsync(grain, hash);
            result = await grain.WriteAsync(new ChunkWrite(connection.Epoch, offset, recordings[i % 2].Chunks().First()));
            offset = result.Committed;
        }

        Assert.Equal((WriteOutcome.Closed, CloseCodes.UnsupportedMedia), (result.Outcome, result.CloseCode));
        Assert.Contains("too many incompatible recorder restarts", result.Reason, StringComparison.Ordinal);
        Assert.InRange(fixture.Runner.For(session.SessionId!).Count, 1, 6);
        Assert.Equal(SessionState.Failed, (await grain.GetSessionAsync(session.SessionId!))!.State);
    }

    [Fact(Timeout = 30_000)]
    public async Task Bytes_that_are_not_media_fail_the_session_with_4415_and_stop_nothing_else()
    {
        var (bystander, bystanderHash) = await StreamFactory.CreateAsync(Grains);
        var other = await StreamFactory.ConnectAsync(bystander, bystanderHash);
        await bystander.WriteAsync(new ChunkWrite(other.Epoch, 0, Audio.Chunks().First()));
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);

        var result = await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, "GET / HTTP/1.1\r\n\r\n"u8.ToArray()));

        Assert.Equal((WriteOutcome.Closed, CloseCodes.UnsupportedMedia), (result.Outcome, result.CloseCode));
        var failed = (await grain.GetSessionAsync(session.SessionId!))!;
        Assert.Equal(SessionState.Failed, failed.State);
        Assert.StartsWith("unsupported media", failed.EndReason, StringComparison.Ordinal);
        Assert.Empty(fixture.Runner.For(session.SessionId!));
        Assert.Equal(SessionState.Active, (await bystander.GetSessionAsync(other.SessionId!))!.State);
        Assert.False(fixture.Runner.For(other.SessionId!)[0].Exited.IsCompleted);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_trun_bomb_is_refused_with_4415_at_once_while_a_stream_beside_it_keeps_its_ack_latency()
    {
        var (bystander, bystanderHash) = await StreamFactory.CreateAsync(Grains);
        var other = await StreamFactory.ConnectAsync(bystander, bystanderHash);
        var chunks = Audio.Chunks().ToList();
        var latencies = new List<double>();
        long offset = 0;
        async Task WriteBystanderAsync(int index)
        {
            var time = System.Diagnostics.Stopwatch.StartNew();
            var written = await bystander.WriteAsync(new ChunkWrite(other.Epoch, offset, chunks[index]));
            latencies.Add(time.Elapsed.TotalMilliseconds);
            Assert.Equal(WriteOutcome.Committed, written.Outcome);
            offset = written.Committed;
        }

        for (var i = 0; i < 6; i++)
        {
            await WriteBystanderAsync(i);
        }

        var before = latencies.Order().ToList();

        // Ten publishers each send a moof that claims 65,535 samples in a few bytes.
        var bomb = Media.HostileMediaTests.TrunBomb(65_535);
        var refusals = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var (grain, hash) = await StreamFactory.CreateAsync(Grains);
            var session = await StreamFactory.ConnectAsync(grain, hash);
            var time = System.Diagnostics.Stopwatch.StartNew();
            var refused = grain.WriteAsync(new ChunkWrite(session.Epoch, 0, bomb));
            await WriteBystanderAsync(6 + i);
            var result = await refused;
            refusals.Add(time.Elapsed.TotalMilliseconds);
            Assert.Equal((WriteOutcome.Closed, CloseCodes.UnsupportedMedia), (result.Outcome, result.CloseCode));
            Assert.Contains("more samples than its bytes can carry", result.Reason, StringComparison.Ordinal);
        }

        // Figures, not a race: each refusal costs as much as any write, and the bystander's writes stay as quick as
        // before the bombs (within a generous margin for a busy machine).
        var during = latencies.Skip(6).Order().ToList();
        Assert.True(refusals.Max() < 2000, $"refusals took up to {refusals.Max():0} ms");
        Assert.True(during[^1] < Math.Max(10 * before[^1], 2000), $"bystander writes: {string.Join(", ", before.Select(l => l.ToString("0.0")))} ms before, {string.Join(", ", during.Select(l => l.ToString("0.0")))} ms during");
        Assert.Equal(SessionState.Active, (await bystander.GetSessionAsync(other.SessionId!))!.State);
    }

    [Fact(Timeout = 30_000)]
    public async Task Deactivating_the_grain_ends_the_live_session_and_stops_its_process()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, Audio.Chunks().First()));
        var process = Assert.Single(fixture.Runner.For(session.SessionId!));

        await fixture.Cluster.DeactivateAsync(grain);

        Assert.True(process.StopRequested || process.Killed);
        Assert.True(process.Exited.IsCompleted);
    }

    [Fact(Timeout = 30_000)]
    public async Task Null_output_commits_and_counts_bytes_without_any_process()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, [new OutputSpec(OutputType.Null)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);

        var result = await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, new byte[1234]));

        Assert.Equal(1234, result.Committed);
        Assert.Empty(fixture.Runner.For(session.SessionId!));
        Assert.Null((await grain.GetSessionAsync(session.SessionId!))!.Ffmpeg.Pid);
    }

    [Fact(Timeout = 30_000)]
    public async Task Archive_holds_exactly_the_committed_bytes_in_order()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, [new OutputSpec(OutputType.Archive)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var capture = MediaCapture.Load("audio-only-opus");

        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, capture.Chunks());
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, capture.Bytes.AsMemory(0, 500)));
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);

        var archive = new MemoryStream();
        ArchiveRead read;
        do
        {
            read = await grain.ReadArchiveAsync(session.SessionId!, archive.Length, 16 * 1024);
            Assert.True(read.Found);
            archive.Write(read.Data);
        }
        while (read.Data.Length > 0);

        Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive.ToArray())));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_session_without_ffmpeg_reports_its_ingest_bitrate_and_no_frame_rate()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, [new OutputSpec(OutputType.Null)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);

        // 25 000 bytes every 500 ms: 400 kbit/s.
        long offset = 0;
        for (var i = 0; i < 12; i++)
        {
            fixture.Time.Advance(TimeSpan.FromMilliseconds(500));
            offset = (await grain.WriteAsync(new ChunkWrite(session.Epoch, offset, new byte[25_000]))).Committed;
        }

        var health = (await grain.GetSessionAsync(session.SessionId!))!.Health;
        Assert.NotNull(health);
        Assert.Equal(400_000, health.IngestBitsPerSecond);
        Assert.Null(health.Fps);
        Assert.Null(health.Speed);
        Assert.Null(health.StderrTail);

        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        Assert.Null((await grain.GetSessionAsync(session.SessionId!))!.Health);
    }

    /// <summary>A session that has written the first 32 KiB of a VP8 capture, whose FFmpeg then stops reading.</summary>
    private async Task<(IStreamGrain Grain, ConnectResult Session, byte[] Video, FakeMediaProcess Process)> StartStalledAsync()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var video = MediaCapture.Load("vp8-opus").Bytes;
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, video.AsMemory(0, 32 * 1024)));
        var process = Assert.Single(fixture.Runner.For(session.SessionId!));
        process.Stall();
        return (grain, session, video, process);
    }
}
