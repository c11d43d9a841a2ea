using System.Buffers.Binary;
using LiveStream.Media.Containers;

namespace LiveStream.Media;

/// <summary>
/// The in-place rewrites that let a new recording continue in the running FFmpeg (see <see cref="MediaRouter"/>): it
/// maps the new recording's track numbers onto the fed ones, and collects and applies the rewrites of held bytes,
/// Matroska Cluster Timestamps, block track numbers, and MP4 <c>mfhd</c> sequence numbers, <c>tfhd</c> track IDs and
/// <c>tfdt</c> decode times. The router decides the timeline (how far the new recording moves); this applies it.
/// Pending rewrites cover held bytes only, so they are bounded by what the router holds.
/// </summary>
internal sealed class SpliceRewriter
{
    private readonly List<Patch> _patches = [];
    private (long From, long To)[] _trackMap = [];
    private bool _mp4;
    private bool _renumber;
    private long _sequence;

    /// <summary>Rewrites waiting for their bytes to be fed.</summary>
    public int Pending => _patches.Count;

    /// <summary>
    /// A new recording's header is read: true (and its track map is kept) when it may be spliced
    /// (<paramref name="allowed"/>) and each of its tracks decodes like one of the fed tracks, in the same container.
    /// Rewrites still pending for the previous recording's bytes stay.
    /// </summary>
    public bool TryBegin(bool allowed, ContainerKind fedKind, IReadOnlyList<TrackInfo> fed, ContainerKind kind, IReadOnlyList<TrackInfo> next)
    {
        var splice = allowed && kind == fedKind && TryMapTracks(fed, next, kind, out _trackMap);
        _mp4 = splice && kind == ContainerKind.Mp4;
        _renumber = splice && Array.Exists(_trackMap, m => m.From != m.To);
        return splice;
    }

    /// <summary>FFmpeg reads the current recording as it was recorded (a new FFmpeg, or one fed its own init segment).</summary>
    public void Stop()
    {
        _mp4 = false;
        _renumber = false;
        _patches.Clear();
    }

    /// <summary>A Cluster Timestamp element (ID 0xE7, one-byte size, payload) to be written with <paramref name="value"/>.</summary>
    public void ClusterTimestamp(long elementOffset, int elementLength, long value) =>
        _patches.Add(new Patch(elementOffset, elementLength, value, ClusterTimestamp: true));

    /// <summary>
    /// A field the reader found at <paramref name="offset"/> (see <see cref="IContainerSink.OnFragmentField"/>); the
    /// current recording moves by <paramref name="shiftMs"/>, in a track of <paramref name="timescale"/> ticks a second.
    /// </summary>
    public void Field(long offset, FragmentField field, long track, long value, long shiftMs, uint timescale)
    {
        if (field == FragmentField.BlockTrackNumber)
        {
            if (_renumber && MapTrack(track) is var number && number != track)
            {
                _patches.Add(new Patch(offset, 1, 0x80 | number));
            }

            return;
        }

        if (!_mp4)
        {
            if (field == FragmentField.SequenceNumber)
            {
                _sequence = value;
            }

            return;
        }

        switch (field)
        {
            case FragmentField.SequenceNumber:
                _sequence = (_sequence + 1) & uint.MaxValue;
                _patches.Add(new Patch(offset, 4, _sequence));
                break;
            case FragmentField.TrackId:
                var mapped = MapTrack(track);
                if (mapped != track)
                {
                    _patches.Add(new Patch(offset, 4, mapped));
                }

                break;
            default:
                var moved = value + (long)((Int128)shiftMs * timescale / 1000);
                var limit = field == FragmentField.DecodeTime32 ? uint.MaxValue : long.MaxValue;
                if (moved != value && moved >= 0 && moved <= limit)
                {
                    _patches.Add(new Patch(offset, field == FragmentField.DecodeTime32 ? 4 : 8, moved));
                }

                break;
        }
    }

    /// <summary>
    /// Feeds <paramref name="held"/>[0, <paramref name="end"/>) (absolute offset <paramref name="heldStart"/>) with the
    /// rewrites that fall in it applied: an MP4 field or a block track number in place, a Cluster Timestamp written as
    /// an 8-byte value (it may grow). Returns the bytes consumed (<paramref name="end"/>).
    /// </summary>
    public int Apply(Span<byte> held, long heldStart, int end, IMediaFeed feed)
    {
        var cursor = 0;
        var done = 0;
        Span<byte> element = stackalloc byte[10];
        foreach (var patch in _patches)
        {
            var elementStart = patch.Offset - heldStart;
            var elementEnd = elementStart + patch.Length;
            if (elementStart < cursor)
            {
                // Its bytes have gone already (they cannot have, with whole elements held; never let one block the rest).
                done++;
                continue;
            }

            if (elementEnd > end)
            {
                break;
            }

            done++;
            if (!patch.ClusterTimestamp)
            {
                var field = held.Slice((int)elementStart, patch.Length);
                if (patch.Length == 1)
                {
                    field[0] = (byte)patch.Value;
                }
                else if (patch.Length == 4)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(field, (uint)patch.Value);
                }
                else
                {
                    BinaryPrimitives.WriteInt64BigEndian(field, patch.Value);
                }

                continue;
            }

            feed.Feed(held[cursor..(int)elementStart]);
            if (held[(int)elementStart] == 0xE7 && held[(int)elementStart + 1] == (0x80 | (patch.Length - 2)))
            {
                element[0] = 0xE7;
                element[1] = 0x88;
                BinaryPrimitives.WriteInt64BigEndian(element[2..], Math.Max(0, patch.Value));
                feed.Feed(element);
            }
            else
            {
                // Not the layout we rewrite: pass it as it is (FFmpeg copes with a timestamp jump).
                feed.Feed(held.Slice((int)elementStart, patch.Length));
            }

            cursor = (int)elementEnd;
        }

        _patches.RemoveRange(0, done);
        if (end > cursor)
        {
            feed.Feed(held[cursor..end]);
        }

        return end;
    }

    /// <summary>
    /// Pairs every track of a new recording with a fed track it decodes like. Track numbers may differ: Chrome numbers
    /// audio and video in the order their first frames arrive. They are rewritten in place, in each MP4 <c>tfhd</c> and
    /// in each Matroska block (a one-byte number, so Matroska tracks 1 to 126 only).
    /// </summary>
    private static bool TryMapTracks(IReadOnlyList<TrackInfo> fed, IReadOnlyList<TrackInfo> next, ContainerKind kind, out (long From, long To)[] map)
    {
        map = [];
        if (fed.Count == 0 || fed.Count != next.Count)
        {
            return false;
        }

        var pairs = new (long From, long To)[next.Count];
        var taken = new bool[fed.Count];
        for (var i = 0; i < next.Count; i++)
        {
            var match = -1;
            for (var j = 0; j < fed.Count && match < 0; j++)
            {
                var candidate = !taken[j] && (kind == ContainerKind.Mp4 || fed[j].Number == next[i].Number || (fed[j].Number < 127 && next[i].Number < 127));
                if (candidate && next[i].DecodesLike(fed[j]))
                {
                    match = j;
                }
            }

            if (match < 0)
            {
                return false;
            }

            taken[match] = true;
            pairs[i] = (next[i].Number, fed[match].Number);
        }

        map = pairs;
        return true;
    }

    private long MapTrack(long track)
    {
        foreach (var (from, to) in _trackMap)
        {
            if (from == track)
            {
                return to;
            }
        }

        return track;
    }

    /// <summary>
    /// A rewrite of held bytes at absolute <paramref name="Offset"/>: an MP4 field of <paramref name="Length"/> bytes,
    /// or a whole Matroska Cluster Timestamp element.
    /// </summary>
    private readonly record struct Patch(long Offset, int Length, long Value, bool ClusterTimestamp = false);
}
