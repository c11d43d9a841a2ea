namespace LiveStream.Media.Containers;

/// <summary>Reads a buffered <c>moof</c>: one fragment event, then one frame event per sample.</summary>
internal static class Mp4FragmentParser
{
    // A trun without per-sample fields may claim any count in 8 bytes; real fragments hold tens of samples.
    private const int MaxSamplesPerFragment = 1 << 16;

    // Work per input byte is bounded: a moof may claim at most this many samples per byte of its own. MediaRecorder's
    // fragments carry 8 to 16 bytes per sample (duration, size, flags); a trun that claims thousands of samples in a
    // few bytes would make every byte cost thousands of callbacks (and FFmpeg an index entry per claimed sample).
    private const int MaxSamplesPerMoofByte = 4;

    private const uint SampleIsNonSync = 0x10000;
    private const uint DependsOnNothing = 2;

    private const uint TfhdBaseDataOffset = 0x1;
    private const uint TfhdSampleDescriptionIndex = 0x2;
    private const uint TfhdDefaultDuration = 0x8;
    private const uint TfhdDefaultSize = 0x10;
    private const uint TfhdDefaultFlags = 0x20;

    private const uint TrunDataOffset = 0x1;
    private const uint TrunFirstSampleFlags = 0x4;
    private const uint TrunDuration = 0x100;
    private const uint TrunSize = 0x200;
    private const uint TrunFlags = 0x400;
    private const uint TrunCompositionOffset = 0x800;

    private const int FirstVideoUnknown = 0;
    private const int FirstVideoSync = 1;
    private const int FirstVideoNotSync = 2;

    /// <param name="moof">The box's body.</param>
    /// <param name="offset">Absolute offset of the box.</param>
    /// <param name="bodyOffset">Absolute offset of its body, for the positions of the fields a splice rewrites.</param>
    /// <param name="tracks">The recording's tracks; their clocks move on by the fragment's samples.</param>
    /// <param name="hasVideo">Whether the recording has a video track (else every fragment starts with a keyframe).</param>
    /// <param name="sink">Where the fragment, its fields and its frames are reported.</param>
    public static void Read(ReadOnlySpan<byte> moof, long offset, long bodyOffset, Mp4Track[] tracks, bool hasVideo, IContainerSink sink)
    {
        // The first pass validates the whole moof and finds the fragment's facts before anything is reported, so the
        // fragment event comes first and a bad box never leaves half a fragment's frames reported.
        var startMs = long.MaxValue;
        var firstVideo = FirstVideoUnknown;
        Walk(moof, bodyOffset, tracks, sink: null, ref startMs, ref firstVideo);

        sink.OnFragment(offset, hasVideo ? firstVideo == FirstVideoSync : true, startMs == long.MaxValue ? 0 : startMs);
        Walk(moof, bodyOffset, tracks, sink, ref startMs, ref firstVideo);
    }

    private static void Walk(ReadOnlySpan<byte> moof, long bodyOffset, Mp4Track[] tracks, IContainerSink? sink, ref long startMs, ref int firstVideo)
    {
        // Counted down from the budget the moof's own size allows (see MaxSamplesPerMoofByte).
        var samples = MaxSamplesPerFragment - (int)Math.Min(MaxSamplesPerFragment, Math.Max(64L, (long)moof.Length * MaxSamplesPerMoofByte));
        var offset = 0;
        while (offset < moof.Length)
        {
            var type = Mp4Box.Read(moof, ref offset, out var body);
            var at = bodyOffset + offset - body.Length;
            if (type == Mp4Types.Traf)
            {
                WalkTraf(body, at, tracks, sink, ref startMs, ref firstVideo, ref samples);
            }
            else if (type == Mp4Types.Mfhd)
            {
                var sequence = Mp4Box.ReadUInt32(body, 4, type);
                sink?.OnFragmentField(at + 4, FragmentField.SequenceNumber, 0, sequence);
            }
        }
    }

    private static void WalkTraf(
        ReadOnlySpan<byte> traf, long trafOffset, Mp4Track[] tracks, IContainerSink? sink, ref long startMs, ref int firstVideo, ref int samples)
    {
        Mp4Track? track = null;
        uint defaultDuration = 0;
        uint defaultFlags = 0;
        long? baseTime = null;
        long time = 0;
        var started = false;
        var offset = 0;
        while (offset < traf.Length)
        {
            var type = Mp4Box.Read(traf, ref offset, out var body);
            var at = trafOffset + offset - body.Length;
            switch (type)
            {
                case Mp4Types.Tfhd when track is null:
                    track = ReadTfhd(body, tracks, out defaultDuration, out defaultFlags);
                    sink?.OnFragmentField(at + 4, FragmentField.TrackId, track.Number, track.Number);
                    break;
                case Mp4Types.Tfhd:
                    throw new MediaFormatException("traf with two tfhd");
                case Mp4Types.Tfdt when track is null || started:
                    throw new MediaFormatException("tfdt out of order");
                case Mp4Types.Tfdt:
                    var wide = !body.IsEmpty && body[0] == 1;
                    baseTime = wide ? (long)Math.Min(Mp4Box.ReadUInt64(body, 4, type), long.MaxValue) : Mp4Box.ReadUInt32(body, 4, type);
                    sink?.OnFragmentField(at + 4, wide ? FragmentField.DecodeTime64 : FragmentField.DecodeTime32, track.Number, baseTime.Value);
                    break;
                case Mp4Types.Trun when track is null:
                    throw new MediaFormatException("trun before tfhd");
                case Mp4Types.Trun:
                    if (!started)
                    {
                        started = true;
                        time = baseTime ?? track.NextDecodeTime;
                        startMs = Math.Min(startMs, track.ToMilliseconds(time));
                    }

                    ReadTrun(body, track, defaultDuration, defaultFlags, sink, ref time, ref firstVideo, ref samples);
                    break;
                default:
                    break;
            }
        }

        if (track is null)
        {
            throw new MediaFormatException("traf without tfhd");
        }

        if (!started)
        {
            time = baseTime ?? track.NextDecodeTime;
            startMs = Math.Min(startMs, track.ToMilliseconds(time));
        }

        // Only the reporting pass moves the track's clock, so validating a moof leaves no trace.
        if (sink is not null)
        {
            track.NextDecodeTime = time;
        }
    }

    private static Mp4Track ReadTfhd(ReadOnlySpan<byte> tfhd, Mp4Track[] tracks, out uint defaultDuration, out uint defaultFlags)
    {
        var flags = Mp4Box.ReadUInt32(tfhd, 0, Mp4Types.Tfhd) & 0xFFFFFF;
        var id = Mp4Box.ReadUInt32(tfhd, 4, Mp4Types.Tfhd);
        var track = FindTrack(tracks, id) ?? throw new MediaFormatException($"fragment for unknown track {id}");
        var at = 8;
        at += (flags & TfhdBaseDataOffset) != 0 ? 8 : 0;
        at += (flags & TfhdSampleDescriptionIndex) != 0 ? 4 : 0;
        defaultDuration = track.DefaultDuration;
        if ((flags & TfhdDefaultDuration) != 0)
        {
            defaultDuration = Mp4Box.ReadUInt32(tfhd, at, Mp4Types.Tfhd);
            at += 4;
        }

        at += (flags & TfhdDefaultSize) != 0 ? 4 : 0;
        defaultFlags = track.DefaultFlags;
        if ((flags & TfhdDefaultFlags) != 0)
        {
            defaultFlags = Mp4Box.ReadUInt32(tfhd, at, Mp4Types.Tfhd);
        }

        return track;
    }

    // A loop, not Array.Find: a lambda capturing the id would allocate for every fragment.
    private static Mp4Track? FindTrack(Mp4Track[] tracks, uint id)
    {
        foreach (var track in tracks)
        {
            if (track.Number == id)
            {
                return track;
            }
        }

        return null;
    }

    private static void ReadTrun(
        ReadOnlySpan<byte> trun, Mp4Track track, uint defaultDuration, uint defaultFlags, IContainerSink? sink, ref long time, ref int firstVideo, ref int samples)
    {
        var flags = Mp4Box.ReadUInt32(trun, 0, Mp4Types.Trun) & 0xFFFFFF;
        var count = Mp4Box.ReadUInt32(trun, 4, Mp4Types.Trun);
        var at = (flags & TrunDataOffset) != 0 ? 12 : 8;
        var hasFirstFlags = (flags & TrunFirstSampleFlags) != 0;
        var firstFlags = 0u;
        if (hasFirstFlags)
        {
            firstFlags = Mp4Box.ReadUInt32(trun, at, Mp4Types.Trun);
            at += 4;
        }

        var hasDuration = (flags & TrunDuration) != 0;
        var hasSize = (flags & TrunSize) != 0;
        var hasFlags = (flags & TrunFlags) != 0;
        var hasOffset = (flags & TrunCompositionOffset) != 0;
        var perSample = 4 * ((hasDuration ? 1 : 0) + (hasSize ? 1 : 0) + (hasFlags ? 1 : 0) + (hasOffset ? 1 : 0));
        if (count > (uint)(MaxSamplesPerFragment - samples))
        {
            throw new MediaFormatException("a fragment claims more samples than its bytes can carry");
        }

        if ((long)count * perSample > trun.Length - at)
        {
            throw new MediaFormatException("trun shorter than its samples");
        }

        samples += (int)count;
        for (var i = 0; i < count; i++)
        {
            var duration = defaultDuration;
            var sampleFlags = i == 0 && hasFirstFlags ? firstFlags : defaultFlags;
            if (hasDuration)
            {
                duration = Mp4Box.ReadUInt32(trun, at, Mp4Types.Trun);
                at += 4;
            }

            at += hasSize ? 4 : 0;
            if (hasFlags)
            {
                // first_sample_flags wins for the first sample: that is how Chrome marks the keyframe.
                if (!(i == 0 && hasFirstFlags))
                {
                    sampleFlags = Mp4Box.ReadUInt32(trun, at, Mp4Types.Trun);
                }

                at += 4;
            }

            at += hasOffset ? 4 : 0;

            var keyframe = (sampleFlags & SampleIsNonSync) == 0 || ((sampleFlags >> 24) & 3) == DependsOnNothing;
            if (track.Kind == TrackKind.Video && firstVideo == FirstVideoUnknown)
            {
                firstVideo = keyframe ? FirstVideoSync : FirstVideoNotSync;
            }

            // Decode time: non-decreasing per track, and equal to presentation time for Chrome's B-frame-free H.264.
            sink?.OnFrame(track.Number, track.ToMilliseconds(time), keyframe);
            time += duration;
        }
    }
}
