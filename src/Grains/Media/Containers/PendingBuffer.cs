namespace LiveStream.Media.Containers;

/// <summary>
/// The few bytes the reader must see together before it can act: an element or box header cut by a chunk boundary,
/// a block header, or a small element it parses whole. One array, reused, so steady-state reading allocates nothing.
/// </summary>
internal sealed class PendingBuffer(int maxCapacity)
{
    // Holds every header, a Tracks element and a Chrome moov or moof (about 1.2 KB and 0.5 KB), so steady-state reading
    // never grows it.
    private const int InitialCapacity = 4096;

    private byte[] _buffer = new byte[Math.Min(InitialCapacity, maxCapacity)];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public byte this[int index] => _buffer[index];

    public void Clear() => Length = 0;

    /// <summary>Moves bytes from the front of <paramref name="input"/> until <see cref="Length"/> reaches <paramref name="needed"/>.</summary>
    /// <returns>How many bytes were taken.</returns>
    public int FillTo(ref ReadOnlySpan<byte> input, int needed)
    {
        var take = Math.Min(needed - Length, input.Length);
        if (take <= 0)
        {
            return 0;
        }

        // Grow with the bytes that actually arrived, not with what a size field claims, so a lying size costs nothing.
        if (Length + take > _buffer.Length)
        {
            var capacity = Math.Min(Math.Max(_buffer.Length * 2, Length + take), Math.Max(maxCapacity, needed));
            Array.Resize(ref _buffer, capacity);
        }

        input[..take].CopyTo(_buffer.AsSpan(Length));
        input = input[take..];
        Length += take;
        return take;
    }
}
