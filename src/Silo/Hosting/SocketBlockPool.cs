using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace LiveStream.Hosting;

/// <summary>
/// Socket buffers in 64 KiB pinned blocks that are kept for reuse, for Kestrel's sockets (the gateway's publishers)
/// and Orleans' connections (gateway to silo, silo to silo). Both read a socket into the free part of their current
/// block, so with their default 4 KiB blocks a 62.5 kB chunk took about 16 reads (and as many wake-ups of the reader
/// on the other side of the pipe); with 64 KiB blocks it takes one or two. The blocks are kept (up to
/// <c>maxRetained</c>, the rest go to the GC): blocks rented fresh at this rate cost more than the reads they save.
/// An idle Kestrel connection holds none (Kestrel waits for data before it rents a block).
/// </summary>
public sealed class SocketBlockPool(int maxRetained) : MemoryPool<byte>
{
    /// <summary>The size of every block.</summary>
    public const int BlockSize = 64 * 1024;

    /// <summary>Blocks kept for reuse by default: 64 MiB at most, reached only when that many were in use at once.</summary>
    public const int DefaultRetainedBlocks = 1024;

    private readonly ConcurrentQueue<Block> _free = new();
    private int _retained;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks waiting for reuse.</summary>
    public int Retained => Volatile.Read(ref _retained);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _retained);
            block.Lend();
            return block;
        }

        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        // The blocks are managed memory: what is not rented goes with the pool.
        _free.Clear();
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _retained) <= maxRetained)
        {
            _free.Enqueue(block);
            return;
        }

        Interlocked.Decrement(ref _retained);
    }

    private sealed class Block(SocketBlockPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        private int _rented = 1;

        public Memory<byte> Memory => MemoryMarshal.CreateFromPinnedArray(_array, 0, _array.Length);

        public void Lend() => Volatile.Write(ref _rented, 1);

        /// <summary>Returns the block once; a second dispose does nothing.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _rented, 0) == 1)
            {
                pool.Return(this);
            }
        }
    }
}
