using LiveStream.Gateway.Ingest;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// A connection's receive buffer: none held between messages; grown (a copy) for a larger message and then rented at
/// that size, so a publisher of large messages does not grow it again at every message; back to its initial size
/// while messages stay small.
/// </summary>
[Collection(ReceiveBufferPoolCollection.Name)]
public sealed class ReceiveBufferTests
{
    private const int Initial = 64 * 1024;

    [Fact]
    public void Buffers_of_many_messages_in_flight_at_once_go_back_to_the_pool_and_are_rented_again()
    {
        // More than the shared pool keeps of a size (a few dozen per processor): it dropped the rest on return, and
        // every rent past them allocated a new 64 KiB array.
        const int InFlight = 200;
        var first = Enumerable.Range(0, InFlight).Select(_ => new ReceiveBuffer(Initial)).ToList();
        var rented = first.Select(b => b.Buffer).ToHashSet(ReferenceEqualityComparer.Instance);
        first.ForEach(b => b.Release(used: Initial - 1));

        var again = Enumerable.Range(0, InFlight).Select(_ => new ReceiveBuffer(Initial).Buffer).ToList();

        Assert.Equal(InFlight, again.Count(rented.Contains));
    }

    [Fact]
    public void A_grown_buffer_is_rented_at_its_grown_size_for_the_next_message()
    {
        var buffer = new ReceiveBuffer(Initial);
        Assert.InRange(buffer.Buffer.Length, Initial, (2 * Initial) - 1);
        buffer.Buffer[0] = 42;

        Assert.True(buffer.Grow(4 * 1024 * 1024));
        Assert.Equal(42, buffer.Buffer[0]);
        Assert.True(buffer.Grow(4 * 1024 * 1024));
        var grown = buffer.Buffer.Length;
        Assert.InRange(grown, 4 * Initial, 4 * 1024 * 1024);
        buffer.Release(used: grown - 1);

        Assert.Equal(grown, buffer.Size);
        Assert.True(buffer.Buffer.Length >= grown);
        Assert.False(buffer.Grow(grown));
    }

    [Fact]
    public void A_grown_size_halves_while_messages_use_less_than_a_quarter_of_it_and_never_goes_below_the_initial_size()
    {
        var buffer = new ReceiveBuffer(Initial);
        buffer.Grow(4 * 1024 * 1024);
        buffer.Grow(4 * 1024 * 1024);
        var grown = buffer.Size;
        Assert.Equal(4 * Initial, grown);

        buffer.Release(used: grown / 4);
        Assert.Equal(grown, buffer.Size);

        _ = buffer.Buffer;
        buffer.Release(used: 1000);
        Assert.Equal(grown / 2, buffer.Size);

        for (var i = 0; i < 5; i++)
        {
            _ = buffer.Buffer;
            buffer.Release(used: 1000);
        }

        Assert.Equal(Initial, buffer.Size);
    }
}

/// <summary>The gateway's receive pool is one per process: a test that counts what comes back runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReceiveBufferPoolCollection
{
    public const string Name = "receive buffer pool";
}
