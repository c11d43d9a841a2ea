using System.Collections.Concurrent;
using LiveStream.Media;
using LiveStream.Sessions;

namespace LiveStream.Grains.Tests;

/// <summary>A stand-in for FFmpeg: drains the session buffer into memory, can stall or die on demand.</summary>
public sealed class FakeMediaProcessRunner : IMediaProcessRunner
{
    private static int _nextId = 900_000;

    public ConcurrentDictionary<string, List<FakeMediaProcess>> BySession { get; } = new();

    /// <summary>Relays started, by session id and output index.</summary>
    public ConcurrentDictionary<(string SessionId, int Index), List<FakeMediaProcess>> Relays { get; } = new();

    /// <summary>When set, a relay start throws this (a missing binary, say).</summary>
    public Exception? RelayStartFailure { get; set; }

    /// <summary>Starts that fail (as a missing binary or no free file descriptor would) before one succeeds again.</summary>
    public int FailingStarts;

    public Task<IMediaProcess> StartAsync(MediaProcessSpec spec, SessionBuffer input)
    {
        if (Interlocked.Decrement(ref FailingStarts) >= 0)
        {
            return Task.FromException<IMediaProcess>(new System.ComponentModel.Win32Exception(24, "Too many open files"));
        }

        Interlocked.Exchange(ref FailingStarts, 0);
        return Task.FromResult(Start(spec, input));
    }

    public Task<IMediaProcess> StartRelayAsync(RelaySpec spec, SessionBuffer input)
    {
        if (RelayStartFailure is { } failure)
        {
            return Task.FromException<IMediaProcess>(failure);
        }

        var process = new FakeMediaProcess(Interlocked.Increment(ref _nextId), input, onLive: spec.OnLive, exitAtEndOfInput: true);
        Add(Relays, (spec.SessionId, spec.Index), process);
        return Task.FromResult<IMediaProcess>(process);
    }

    public IReadOnlyList<FakeMediaProcess> RelaysFor(string sessionId, int index) =>
        Relays.TryGetValue((sessionId, index), out var list) ? Snapshot(list) : [];

    private static IReadOnlyList<FakeMediaProcess> Snapshot(List<FakeMediaProcess> list)
    {
        lock (list)
        {
            return [.. list];
        }
    }

    private static void Add<TKey>(ConcurrentDictionary<TKey, List<FakeMediaProcess>> map, TKey key, FakeMediaProcess process)
        where TKey : notnull =>
        map.AddOrUpdate(key, _ => [process], (_, list) =>
        {
            lock (list)
            {
                list.Add(process);
            }

            return list;
        });

    private IMediaProcess Start(MediaProcessSpec spec, SessionBuffer input)
    {
        var process = new FakeMediaProcess(Interlocked.Increment(ref _nextId), input, spec.Stdout);
        BySession.AddOrUpdate(spec.SessionId, _ => [process], (_, list) =>
        {
            lock (list)
            {
                list.Add(process);
            }

            return list;
        });
        return process;
    }

    public IReadOnlyList<FakeMediaProcess> For(string sessionId) =>
        BySession.TryGetValue(sessionId, out var list) ? [.. list] : [];
}

public sealed class FakeMediaProcess : IMediaProcess
{
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly GateStream _stdin = new();
    private readonly CancellationTokenSource _kill = new();
    private readonly Task _pump;
    private readonly System.IO.Pipelines.Pipe _stdout = new();
    private readonly Action? _onLive;

    private readonly SessionBuffer _input;
    private TaskCompletionSource? _disposal;

    public FakeMediaProcess(int id, SessionBuffer input, Func<Stream, CancellationToken, Task>? stdout = null, Action? onLive = null, bool exitAtEndOfInput = false)
    {
        Id = id;
        _input = input;
        _onLive = onLive;
        _pump = PumpAsync(input, exitAtEndOfInput);
        StdoutRead = stdout is null ? Task.CompletedTask : stdout(_stdout.Reader.AsStream(), CancellationToken.None);
        _ = _exited.Task.ContinueWith(_ => _stdout.Writer.Complete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The reader of this process's stdout (the simulcast fan-out), done when it has read to the end.</summary>
    public Task StdoutRead { get; }

    /// <summary>Writes to this process's stdout, as the encoder writes its FLV stream.</summary>
    public async Task WriteStdoutAsync(byte[] data) => await _stdout.Writer.WriteAsync(data);

    /// <summary>A relay reports that media flows to its target.</summary>
    public void GoLive() => _onLive?.Invoke();

    public int Id { get; }

    public Task<int> Exited => _exited.Task;

    public IReadOnlyList<string> StderrTail { get; private set; } = [];

    public bool StopRequested { get; private set; }

    public bool Killed { get; private set; }

    /// <summary>Bytes the process has read from stdin so far.</summary>
    public byte[] Received => _stdin.Snapshot();

    /// <summary>Stops reading stdin until <see cref="Resume"/> (like SIGSTOP).</summary>
    public void Stall() => _stdin.Shut();

    public void Resume() => _stdin.Open();

    /// <summary>Exits on its own, as a crashing FFmpeg would.</summary>
    public void Crash(int exitCode = 1, string? lastError = null)
    {
        StderrTail = lastError is null ? [] : ["some earlier line", lastError];
        _exited.TrySetResult(exitCode);
    }

    public async Task<int> StopAsync(CancellationToken cancellationToken)
    {
        StopRequested = true;
        await _pump.WaitAsync(cancellationToken);
        _exited.TrySetResult(0);
        return await Exited;
    }

    public void Kill()
    {
        // Like a real process: killing one that already exited does nothing.
        Killed |= !_exited.Task.IsCompleted;
        _kill.Cancel();
        _stdin.Open();
        _exited.TrySetResult(-9);
    }

    /// <summary>
    /// Makes <see cref="DisposeAsync"/> stop, once it has ended the input as the real process does, until the
    /// returned source is completed: the moment an owner has disposed of its process and not yet let go of the input.
    /// </summary>
    public TaskCompletionSource HoldDisposal() => _disposal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True once an owner has begun to dispose of the process.</summary>
    public bool Disposed { get; private set; }

    public async ValueTask DisposeAsync()
    {
        Disposed = true;
        Kill();

        // Like FfmpegProcess: a disposed process ends its input.
        _input.Complete();
        if (_disposal is { } disposal)
        {
            await disposal.Task;
        }
    }

    private async Task PumpAsync(SessionBuffer input, bool exitAtEndOfInput)
    {
        try
        {
            await input.DrainToAsync(_stdin, _kill.Token);
            if (exitAtEndOfInput)
            {
                // Like a relay FFmpeg: the end of its input ends it.
                _exited.TrySetResult(0);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A write-only stream that records bytes and can block writers.</summary>
    private sealed class GateStream : Stream
    {
        private readonly MemoryStream _data = new();
        private volatile TaskCompletionSource _open = CompletedGate();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Shut() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public byte[] Snapshot()
        {
            lock (_data)
            {
                return _data.ToArray();
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _open.Task.WaitAsync(cancellationToken);
            lock (_data)
            {
                _data.Write(buffer.Span);
            }
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private static TaskCompletionSource CompletedGate()
        {
            var tcs = new TaskCompletionSource();
            tcs.SetResult();
            return tcs;
        }
    }
}
