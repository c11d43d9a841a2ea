using LiveStream.Gateway.Hosting;
using LiveStream.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace LiveStream.Gateway.Tests;

/// <summary>Kestrel's socket buffers: 64 KiB blocks, kept for reuse up to a bound, each returned once.</summary>
public sealed class SocketBlockPoolTests
{
    [Fact]
    public void Every_block_is_64_KiB_and_a_returned_block_is_rented_again()
    {
        using var pool = new SocketBlockPool(maxRetained: 4);
        var first = pool.Rent(4096);
        Assert.Equal(SocketBlockPool.BlockSize, first.Memory.Length);
        first.Memory.Span[0] = 42;
        first.Dispose();
        Assert.Equal(1, pool.Retained);

        var again = pool.Rent();
        Assert.Equal(42, again.Memory.Span[0]);
        Assert.Equal(0, pool.Retained);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(SocketBlockPool.BlockSize + 1));
    }

    [Fact]
    public void A_block_disposed_twice_is_returned_once()
    {
        using var pool = new SocketBlockPool(maxRetained: 4);
        var block = pool.Rent();
        block.Dispose();
        block.Dispose();
        Assert.Equal(1, pool.Retained);
        var a = pool.Rent();
        var b = pool.Rent();
        Assert.False(a.Memory.Equals(b.Memory));
    }

    [Fact]
    public void No_more_blocks_are_kept_than_the_bound()
    {
        using var pool = new SocketBlockPool(maxRetained: 3);
        var blocks = Enumerable.Range(0, 10).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());
        Assert.Equal(3, pool.Retained);
    }

    [Fact]
    public void The_gateway_gives_kestrel_the_block_pool()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["LiveStream:AdminToken"] = "0123456789ABCDEF0123456789ABCDEF";
        builder.AddLiveStreamGateway();
        using var services = builder.Services.BuildServiceProvider();
        Assert.IsType<SocketBlockPoolFactory>(services.GetRequiredService<IMemoryPoolFactory<byte>>());
    }
}
