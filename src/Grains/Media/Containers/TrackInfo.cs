namespace LiveStream.Media.Containers;

/// <summary>One track of a recording's init segment.</summary>
/// <param name="Number">The Matroska TrackNumber, or the MP4 track_ID.</param>
/// <param name="Kind">Video, audio or other.</param>
/// <param name="Codec">
/// Normalised codec name: <c>h264</c>, <c>vp8</c>, <c>vp9</c>, <c>av1</c>, <c>opus</c>, <c>aac</c>; any other codec is its
/// raw Matroska CodecID or MP4 sample entry type in lower case.
/// </param>
/// <param name="CodecPrivate">
/// Matroska CodecPrivate, or the payload of the MP4 decoder configuration box (<c>avcC</c>, <c>dOps</c>, <c>esds</c>…);
/// empty when the track has none.
/// </param>
/// <param name="Width">Video width in pixels as the container states it (Matroska PixelWidth, MP4 visual sample entry); 0 when unknown.</param>
/// <param name="Height">Video height in pixels; 0 when unknown.</param>
/// <param name="Timescale">MP4 only: the track's ticks per second (<c>mdhd</c>); 0 for Matroska.</param>
/// <param name="DefaultSampleDuration">MP4 only: the <c>trex</c> default sample duration; 0 for Matroska.</param>
/// <param name="DefaultSampleFlags">MP4 only: the <c>trex</c> default sample flags; 0 for Matroska.</param>
public sealed record TrackInfo(
    long Number,
    TrackKind Kind,
    string Codec,
    byte[] CodecPrivate,
    int Width = 0,
    int Height = 0,
    uint Timescale = 0,
    uint DefaultSampleDuration = 0,
    uint DefaultSampleFlags = 0)
{
    /// <summary>
    /// True when a decoder set up for <paramref name="other"/> decodes this track's frames as they are: same kind, codec,
    /// codec configuration, size and (MP4) timescale and fragment defaults. The track number may differ.
    /// </summary>
    public bool DecodesLike(TrackInfo other) =>
        Kind == other.Kind && Codec == other.Codec && CodecPrivate.AsSpan().SequenceEqual(other.CodecPrivate)
        && Width == other.Width && Height == other.Height && Timescale == other.Timescale
        && DefaultSampleDuration == other.DefaultSampleDuration && DefaultSampleFlags == other.DefaultSampleFlags;
}
