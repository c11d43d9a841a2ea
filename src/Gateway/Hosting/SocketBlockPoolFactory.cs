using System.Buffers;
using LiveStream.Hosting;
using Microsoft.AspNetCore.Connections;

namespace LiveStream.Gateway.Hosting;

/// <summary>Gives Kestrel's socket transport a <see cref="SocketBlockPool"/> instead of its 4 KiB block pool.</summary>
internal sealed class SocketBlockPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new SocketBlockPool(SocketBlockPool.DefaultRetainedBlocks);
}
