using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using CliWrap;
using LiveStream.Media;
using LiveStream.Media.Containers;
using LiveStream.Options;
using LiveStream.Streams;
using LiveStream.Testing;

namespace LiveStream.Benchmarks;

/// <summary>
/// Whole-system CPU per live stream, passthrough against re-encode: one embedded LiveStream process (gateway and
/// silo) gets a real capture at its recorded pace over a WebSocket; its CPU time, FFmpeg children included, is
/// divided by the stream's wall time. The floor is FFmpeg alone, fed the same capture at the same pace from a pipe,
/// with the same arguments. Every figure comes from the same run.
/// </summary>
internal static class StreamCpuHarness
{
    private const int IdleSettleSeconds = 10;
    private const int IdleSeconds = 10;
    private const int MinPacedWarmUps = 2;
    private const int MaxPacedWarmUps = 10;
    private const double QuietJitCores = 0.001;
    private const int Rounds = 3;
    private const int WarmUpStreams = 4;
    private const double PacedWarmUpMs = 20_000;
    private static readonly (string Capture, string Label)[] Measured = [("h264-opus-mkv", "H.264 passthrough"), ("vp8-opus", "VP8 re-encode (libx264 veryfast)")];

    public static async Task<int> RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var output = Value("--out");
        var ratios = Value("--ratios");
        // --seconds N plays only the first N seconds of each capture (quick mode); both sides get the same bytes.
        var limitMs = Value("--seconds") is { } seconds ? double.Parse(seconds, CultureInfo.InvariantCulture) * 1000 : double.MaxValue;
        var ratioLines = new List<string>();
        var rows = new List<string>();
        var warmUpNote = string.Empty;
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var data = Directory.CreateTempSubdirectory("livestream-bench-").FullName;
        var http = FreePort();
        using var server = StartServer(token, data, http);
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}") };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            await WaitReadyAsync(api);

            // Warm up: every capture measured below is first streamed once, unpaced, so the figures are a warm
            // server's (a process JIT-compiles the code of its first H.264 or VP8 session once, then tiers it up in
            // the background for tens of seconds: a profile of an idle process 40 s after start-up still spent two
            // thirds of its CPU in the tiered compiler). Then the idle process is measured, once that has settled.
            foreach (var warm in new[] { "audio-only-opus", "h264-opus-mkv", "vp8-opus" })
            {
                await MeasureSystemAsync(api, server, MediaCapture.Load(warm), paced: false);
            }

            // Then paced, as measured, several streams at once, in rounds until the tiered compiler is quiet: the paths
            // a paced stream takes (timers, FFmpeg progress, one chunk at a time) are hit only a few times a second, so
            // the tiered compiler reaches them late. Per-thread CPU over paced 20 s H.264 streams on a fresh process:
            // its thread took 1,000, 460, 360, 200, then 100-130 ms over the first seven streams, 0-20 ms after; in a
            // stream whose LiveStream overhead is a few thousandths of a core, that is a process's first minutes, which
            // a server that has carried streams for a while no longer pays. A fixed number of rounds stopped short of
            // that on a slow day and measured it.
            var warmUps = 0;
            var jitCores = double.NaN;
            while (warmUps < MaxPacedWarmUps && !(warmUps >= MinPacedWarmUps && jitCores < QuietJitCores))
            {
                await using var jit = TieredJitWatch.Start(server.Id);
                var roundStarted = Stopwatch.GetTimestamp();
                foreach (var warm in Measured.Select(m => m.Capture))
                {
                    var media = MediaCapture.Load(warm);
                    await Task.WhenAll(Enumerable.Range(0, WarmUpStreams).Select(_ => MeasureSystemAsync(api, server, media, limitMs: Math.Min(limitMs, PacedWarmUpMs))));
                }

                jitCores = await jit.StopAsync() / Stopwatch.GetElapsedTime(roundStarted).TotalSeconds;
                warmUps++;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"paced warm-up {warmUps}, {WarmUpStreams} streams of each capture at once: tiered compiler {jitCores:0.00000} cores"));
            }

            warmUpNote = string.Create(CultureInfo.InvariantCulture,
                $"{warmUps} paced warm-up rounds ({WarmUpStreams} streams of each capture at once); the tiered compiler's thread took {jitCores:0.00000} cores over the last one (quiet: < {QuietJitCores} cores, at least {MinPacedWarmUps} rounds, at most {MaxPacedWarmUps}).");
            await Task.Delay(TimeSpan.FromSeconds(IdleSettleSeconds));
            var idleBefore = ProcessCpuSeconds(server.Id);
            await Task.Delay(TimeSpan.FromSeconds(IdleSeconds));
            var idle = (ProcessCpuSeconds(server.Id) - idleBefore) / IdleSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"idle process: {idle:0.000} cores"));
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"| idle (no stream) | - | {idle:0.000} | - | - | - | - | - |"));
            foreach (var (capture, label) in Measured)
            {
                // A few alternating rounds, medians taken: one stream's CPU is a few hundredths of a core, and FFmpeg
                // alone on the same bytes varied by a fifth between single runs (0.028 to 0.034 core for H.264).
                var media = MediaCapture.Load(capture);
                var systems = new List<double>();
                var alones = new List<double>();
                var jitSeconds = 0.0;
                for (var round = 0; round < Rounds; round++)
                {
                    await using (var jit = TieredJitWatch.Start(server.Id))
                    {
                        systems.Add(await MeasureSystemAsync(api, server, media, limitMs: limitMs));
                        jitSeconds += await jit.StopAsync();
                    }

                    alones.Add(await MeasureFfmpegAloneAsync(media, data, limitMs));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}, {capture}: system {systems[^1]:0.000}, FFmpeg alone {alones[^1]:0.000}, ratio {(systems[^1] - idle) / alones[^1]:0.00}"));
                }

                var (system, alone) = (Median(systems), Median(alones));
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {label} | `{capture}` | {system:0.000} ({systems.Min():0.000}–{systems.Max():0.000}) | {jitSeconds * 1000 / Rounds:0} | {system - idle:0.000} | {alone:0.000} ({alones.Min():0.000}–{alones.Max():0.000}) | {system - idle - alone:0.000} | {(system - idle) / alone:0.00} |"));
                ratioLines.Add(string.Create(CultureInfo.InvariantCulture, $"{label}={(system - idle) / alone:0.000}"));
                Console.WriteLine(rows[^1]);
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }

        var table = new StringBuilder()
            .AppendLine(warmUpNote).AppendLine()
            .AppendLine("| stream | capture | whole system (cores, median of 3 and range) | tiered compiler per measured stream (ms) | stream above idle (cores) | FFmpeg alone (cores, median of 3 and range) | LiveStream overhead above FFmpeg (cores) | stream above idle ÷ FFmpeg alone |")
            .AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        rows.ForEach(r => table.AppendLine(r));
        Console.WriteLine(table);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, table.ToString());
        }

        if (ratios is not null)
        {
            await File.WriteAllLinesAsync(ratios, ratioLines);
        }

        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static async Task<double> MeasureSystemAsync(HttpClient api, Process server, MediaCapture media, bool paced = true, double limitMs = double.MaxValue)
    {
        using var created = await api.PostAsJsonAsync("/api/streams", new { outputs = new[] { new { type = "hls" } } });
        var stream = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var ingest = new Uri(stream.GetProperty("ingestUrl").GetString()!);
        var id = stream.GetProperty("id").GetString()!;

        var before = ProcessCpuSeconds(server.Id);
        var started = Stopwatch.GetTimestamp();
        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(ingest, CancellationToken.None);
            await SendPacedAsync(media, chunk => socket.SendAsync(chunk, WebSocketMessageType.Binary, true, CancellationToken.None).AsTask(), paced, limitMs);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        // Ended means FFmpeg has exited and been reaped: its CPU is in the server's children time.
        while (true)
        {
            var sessions = JsonDocument.Parse(await api.GetStringAsync($"/api/streams/{id}/sessions")).RootElement;
            if (sessions[0].GetProperty("state").GetString() is "ended" or "failed" && sessions[0].GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Null)
            {
                break;
            }

            await Task.Delay(100);
        }

        await Task.Delay(500);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (ProcessCpuSeconds(server.Id) - before) / wall;
    }

    private static async Task<double> MeasureFfmpegAloneAsync(MediaCapture media, string data, double limitMs)
    {
        var tracks = media.Name.StartsWith("h264", StringComparison.Ordinal)
            ? new[] { new TrackInfo(1, TrackKind.Video, "h264", []), new TrackInfo(2, TrackKind.Audio, "opus", []) }
            : new[] { new TrackInfo(1, TrackKind.Video, "vp8", []), new TrackInfo(2, TrackKind.Audio, "opus", []) };
        var spec = new MediaProcessSpec("alone", [new OutputSpec(OutputType.Hls)], Path.Combine(data, "alone-" + media.Name)) { Tracks = tracks };
        Directory.CreateDirectory(spec.HlsDirectory);
        var pipe = new System.IO.Pipelines.Pipe();
        var before = ProcessCpuSeconds(Environment.ProcessId, childrenOnly: true);
        var started = Stopwatch.GetTimestamp();
        var run = Cli.Wrap("ffmpeg")
            .WithArguments(a => FfmpegArguments.Build(a, spec, new FfmpegOptions()))
            .WithStandardInputPipe(PipeSource.FromStream(pipe.Reader.AsStream()))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync();
        await SendPacedAsync(media, async chunk =>
        {
            await pipe.Writer.WriteAsync(chunk);
        }, limitMs: limitMs);
        await pipe.Writer.CompleteAsync();
        await run;
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (ProcessCpuSeconds(Environment.ProcessId, childrenOnly: true) - before) / wall;
    }

    private static async Task SendPacedAsync(MediaCapture media, Func<ReadOnlyMemory<byte>, Task> send, bool paced = true, double limitMs = double.MaxValue)
    {
        var clock = Stopwatch.StartNew();
        var i = 0;
        foreach (var chunk in media.Chunks())
        {
            var due = TimeSpan.FromMilliseconds(media.ChunkTimesMs[i++]);
            if (due.TotalMilliseconds > limitMs)
            {
                break;
            }

            if (paced && due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            await send(chunk);
        }
    }

    private static double ProcessCpuSeconds(int pid, bool childrenOnly = false) => ProcessProbe.CpuSeconds(pid, children: true, childrenOnly);

    private static Process StartServer(string token, string data, int http)
    {
        var dll = RepoPaths.ProgramDll("Gateway");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            dll, "--urls", $"http://127.0.0.1:{http}", $"--LiveStream:AdminToken={token}", $"--LiveStream:DataPath={data}",
            $"--LiveStream:Cluster:SiloPort={FreePort()}", $"--LiveStream:Cluster:GatewayPort={FreePort()}", "--Logging:LogLevel:Default=Warning",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(HttpClient api)
    {
        for (var i = 0; i < 600; i++)
        {
            try
            {
                if ((await api.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("LiveStream did not become ready");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
