namespace LiveStream.Media.Containers;

/// <summary>What fragments need to know about a track of the current MP4 recording: timescale, defaults, and where its time is.</summary>
internal sealed class Mp4Track(long number, TrackKind kind, uint timescale)
{
    public long Number { get; } = number;

    public TrackKind Kind { get; } = kind;

    /// <summary>Ticks per second (mdhd); never zero.</summary>
    public uint Timescale { get; } = timescale;

    /// <summary>trex default_sample_duration, used when neither tfhd nor trun gives one.</summary>
    public uint DefaultDuration { get; set; }

    /// <summary>trex default_sample_flags, used when neither tfhd nor trun gives them.</summary>
    public uint DefaultFlags { get; set; }

    /// <summary>Decode time after the last sample read, for a traf without tfdt.</summary>
    public long NextDecodeTime { get; set; }

    public long ToMilliseconds(long ticks) => (long)((Int128)ticks * 1000 / Timescale);
}
