using LiveStream.Gateway.Ingest;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// A connection's receive buffer: none held between messages; grown (a copy) for a larger message and then rented at
/// that size, so a publisher of large messages does not grow it again at every message; back to its initial size
/// while messages stay small.
/// </summary>
public sealed class ReceiveBufferTests
{
    private const int Initial = 64 * 1024;

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
