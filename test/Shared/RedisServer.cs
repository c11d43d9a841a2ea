using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LiveStream.Testing;

/// <summary>A real redis-server on a loopback port of its own, without persistence, killed on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string? _dataDir;
    private Process _process;

    private RedisServer(Process process, int port, string? dataDir)
    {
        _process = process;
        Port = port;
        _dataDir = dataDir;
    }

    public int Port { get; }

    /// <summary>Sends a signal (<c>STOP</c>, <c>CONT</c>) to the server process, as <c>kill -SIG</c> would.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000";

    /// <summary>Starts a server; with <paramref name="dataDir"/>, with append-only persistence there.</summary>
    public static async Task<RedisServer> StartAsync(string? dataDir = null)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var server = new RedisServer(Launch(port, dataDir), port, dataDir);
        await server.WaitListeningAsync();
        return server;
    }

    /// <summary>Kills the server (an outage).</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Starts it again on the same port (from its append-only file, when it has one).</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        _process.Dispose();
        _process = Launch(Port, _dataDir);
        await WaitListeningAsync();
    }

    private static Process Launch(int port, string? dataDir)
    {
        var info = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args = dataDir is null
            ? ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            : ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dataDir];
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
