using LiveStream.Media.Containers;

namespace LiveStream.Grains.Tests.Media;

/// <summary>Records every call, in order, both as comparable text and as typed lists for assertions.</summary>
internal sealed class RecordingSink : IContainerSink
{
    private ContainerReader? _reader;

    public List<string> Events { get; } = [];

    public List<(long Offset, ContainerKind Kind)> Recordings { get; } = [];

    /// <summary>How many tracks the reader exposed when each recording started (0: the old ones were dropped).</summary>
    public List<int> TrackCountsAtRecordingStart { get; } = [];

    public List<(long Start, long End, IReadOnlyList<TrackInfo> Tracks)> Inits { get; } = [];

    public List<(long Offset, bool StartsWithKeyframe, long TimestampMs)> Fragments { get; } = [];

    public List<(long PayloadOffset, int PayloadLength, long Value)> ClusterTimestamps { get; } = [];

    public List<(long Offset, FragmentField Field, long Track, long Value)> FragmentFields { get; } = [];

    /// <summary>Each frame with the reader's position when it was reported (after the block or moof header).</summary>
    public List<(long Track, long TimestampMs, bool Keyframe, long Position)> Frames { get; } = [];

    /// <summary>Lets frames be placed in the stream: the reader's position is recorded with each one.</summary>
    public void Attach(ContainerReader reader) => _reader = reader;

    public void OnRecordingStart(long offset, ContainerKind kind)
    {
        Recordings.Add((offset, kind));
        TrackCountsAtRecordingStart.Add(_reader?.Tracks.Count ?? -1);
        Events.Add($"recording {offset} {kind}");
    }

    public void OnInitSegment(long start, long end, IReadOnlyList<TrackInfo> tracks)
    {
        Inits.Add((start, end, tracks));
        var described = string.Join(",", tracks.Select(t => $"{t.Number}:{t.Kind}:{t.Codec}:{Convert.ToHexString(t.CodecPrivate)}"));
        Events.Add($"init {start} {end} {described}");
    }

    public void OnFragment(long offset, bool startsWithKeyframe, long timestampMs)
    {
        Fragments.Add((offset, startsWithKeyframe, timestampMs));
        Events.Add($"fragment {offset} {startsWithKeyframe} {timestampMs}");
    }

    public void OnClusterTimestamp(long payloadOffset, int payloadLength, long value)
    {
        ClusterTimestamps.Add((payloadOffset, payloadLength, value));
        Events.Add($"timestamp {payloadOffset} {payloadLength} {value}");
    }

    public void OnFragmentField(long offset, FragmentField field, long track, long value)
    {
        FragmentFields.Add((offset, field, track, value));
        Events.Add($"field {offset} {field} {track} {value}");
    }

    public void OnFrame(long track, long timestampMs, bool keyframe)
    {
        Frames.Add((track, timestampMs, keyframe, _reader?.Position ?? -1));
        Events.Add($"frame {track} {timestampMs} {keyframe}");
    }
}
