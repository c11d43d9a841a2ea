using LiveStream.Media.Containers;

namespace LiveStream.Grains.Tests.Media;

/// <summary>Counts calls and keeps nothing, so allocation and speed measurements see only the reader.</summary>
internal sealed class NullSink : IContainerSink
{
    public int Frames { get; private set; }

    public int Fragments { get; private set; }

    public void OnRecordingStart(long offset, ContainerKind kind)
    {
    }

    public void OnInitSegment(long start, long end, IReadOnlyList<TrackInfo> tracks)
    {
    }

    public void OnFragment(long offset, bool startsWithKeyframe, long timestampMs) => Fragments++;

    public void OnClusterTimestamp(long payloadOffset, int payloadLength, long value)
    {
    }


    public void OnFragmentField(long offset, FragmentField field, long track, long value)

    {

    }

    public void OnFrame(long track, long timestampMs, bool keyframe) => Frames++;
}
