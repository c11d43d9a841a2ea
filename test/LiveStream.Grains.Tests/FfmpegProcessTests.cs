using CliWrap;
using LiveStream.Media;
using LiveStream.Options;
using LiveStream.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveStream.Grains.Tests;

/// <summary>One real FFmpeg child, owned through <see cref="FfmpegProcess"/>.</summary>
public sealed class FfmpegProcessTests
{
    [Fact(Timeout = 30_000)]
    public async Task Kill_after_the_process_was_disposed_does_nothing()
    {
        using var supervisor = new MediaProcessSupervisor(NullLogger<MediaProcessSupervisor>.Instance);
        var input = new SessionBuffer(64 * 1024);
        var process = await supervisor.LaunchAsync(() => new FfmpegProcess(
            "session",
            // It waits on its empty input: no CPU while it lives.
            args => args.Add("-hide_banner").Add("-f").Add("s16le").Add("-ar").Add("8000").Add("-ac").Add("1").Add("-i").Add("pipe:0").Add("-f").Add("null").Add("-"),
            input,
            PipeTarget.Null,
            new FfmpegOptions(),
            supervisor,
            TimeProvider.System,
            NullLogger.Instance));
        Assert.True(ProcessProbe.IsRunning(process.Id));

        await process.DisposeAsync();

        // A lease's fence may reach a process its owner has already let go of (a recording's retired FFmpeg): it
        // threw ObjectDisposedException there, which stopped the fence's other callbacks.
        process.Kill();
        Assert.True(process.Exited.IsCompleted);
        Assert.False(ProcessProbe.IsRunning(process.Id));
        input.Dispose();
    }
}
