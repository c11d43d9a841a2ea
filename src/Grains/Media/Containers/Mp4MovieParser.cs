using System.Buffers.Binary;

namespace LiveStream.Media.Containers;

/// <summary>Parses a buffered <c>moov</c> into the tracks of a fragmented MP4 recording.</summary>
internal static class Mp4MovieParser
{
    // Fixed fields of a VisualSampleEntry and an AudioSampleEntry before their child boxes (ISO/IEC 14496-12 12.1, 12.2).
    private const int VisualSampleEntryLength = 78;
    private const int AudioSampleEntryLength = 28;

    public static void Parse(ReadOnlySpan<byte> moov, ContainerLimits limits, out TrackInfo[] infos, out Mp4Track[] tracks)
    {
        var infoList = new List<TrackInfo>();
        var trackList = new List<Mp4Track>();
        ReadOnlySpan<byte> mvex = default;
        var offset = 0;
        while (offset < moov.Length)
        {
            switch (Mp4Box.Read(moov, ref offset, out var body))
            {
                case Mp4Types.Trak:
                    if (trackList.Count == limits.MaxTracks)
                    {
                        throw new MediaFormatException($"more than {limits.MaxTracks} tracks");
                    }

                    var (info, track) = ParseTrak(body);
                    if (trackList.Exists(t => t.Number == track.Number))
                    {
                        throw new MediaFormatException($"track {track.Number} declared twice");
                    }

                    infoList.Add(info);
                    trackList.Add(track);
                    break;
                case Mp4Types.Mvex:
                    mvex = body;
                    break;
                default:
                    break;
            }
        }

        if (trackList.Count == 0)
        {
            throw new MediaFormatException("moov without a track");
        }

        // mvex follows the traks in Chrome's output, so its defaults are applied once every track is known.
        offset = 0;
        while (offset < mvex.Length)
        {
            if (Mp4Box.Read(mvex, ref offset, out var trex) != Mp4Types.Trex)
            {
                continue;
            }

            var id = Mp4Box.ReadUInt32(trex, 4, Mp4Types.Trex);
            var target = trackList.Find(t => t.Number == id);
            if (target is not null)
            {
                target.DefaultDuration = Mp4Box.ReadUInt32(trex, 12, Mp4Types.Trex);
                target.DefaultFlags = Mp4Box.ReadUInt32(trex, 20, Mp4Types.Trex);
            }
        }

        for (var i = 0; i < infoList.Count; i++)
        {
            infoList[i] = infoList[i] with
            {
                Timescale = trackList[i].Timescale,
                DefaultSampleDuration = trackList[i].DefaultDuration,
                DefaultSampleFlags = trackList[i].DefaultFlags,
            };
        }

        infos = [.. infoList];
        tracks = [.. trackList];
    }

    private static (TrackInfo Info, Mp4Track Track) ParseTrak(ReadOnlySpan<byte> trak)
    {
        uint id = 0;
        uint timescale = 0;
        uint handler = 0;
        ReadOnlySpan<byte> stsd = default;
        var offset = 0;
        while (offset < trak.Length)
        {
            switch (Mp4Box.Read(trak, ref offset, out var body))
            {
                case Mp4Types.Tkhd:
                    id = Mp4Box.ReadUInt32(body, VersionedOffset(body, 12, 20, Mp4Types.Tkhd), Mp4Types.Tkhd);
                    break;
                case Mp4Types.Mdia:
                    ParseMdia(body, ref timescale, ref handler, ref stsd);
                    break;
                default:
                    break;
            }
        }

        if (id == 0)
        {
            throw new MediaFormatException("trak without a track id");
        }

        if (timescale == 0)
        {
            throw new MediaFormatException($"track {id} without a timescale");
        }

        var kind = handler switch
        {
            Mp4Types.Vide => TrackKind.Video,
            Mp4Types.Soun => TrackKind.Audio,
            _ => TrackKind.Other,
        };
        var (entryType, codecPrivate, width, height) = ParseStsd(stsd, kind, id);
        return (new TrackInfo(id, kind, CodecNames.FromMp4(entryType), codecPrivate, width, height), new Mp4Track(id, kind, timescale));
    }

    private static void ParseMdia(ReadOnlySpan<byte> mdia, ref uint timescale, ref uint handler, ref ReadOnlySpan<byte> stsd)
    {
        var offset = 0;
        while (offset < mdia.Length)
        {
            switch (Mp4Box.Read(mdia, ref offset, out var body))
            {
                case Mp4Types.Mdhd:
                    timescale = Mp4Box.ReadUInt32(body, VersionedOffset(body, 12, 20, Mp4Types.Mdhd), Mp4Types.Mdhd);
                    break;
                case Mp4Types.Hdlr:
                    handler = Mp4Box.ReadUInt32(body, 8, Mp4Types.Hdlr);
                    break;
                case Mp4Types.Minf:
                    stsd = FindChild(FindChild(body, Mp4Types.Stbl), Mp4Types.Stsd);
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>The first sample entry's type and the payload of its decoder configuration box.</summary>
    private static (uint Type, byte[] CodecPrivate, int Width, int Height) ParseStsd(ReadOnlySpan<byte> stsd, TrackKind kind, uint id)
    {
        if (stsd.IsEmpty || Mp4Box.ReadUInt32(stsd, 4, Mp4Types.Stsd) == 0)
        {
            throw new MediaFormatException($"track {id} without a sample description");
        }

        var offset = 8;
        var type = Mp4Box.Read(stsd, ref offset, out var entry);
        var fixedLength = kind switch
        {
            TrackKind.Video => VisualSampleEntryLength,
            // QuickTime sound descriptions version 1 and 2 add 16 and 36 bytes.
            TrackKind.Audio when entry.Length >= 10 => AudioSampleEntryLength + BinaryPrimitives.ReadUInt16BigEndian(entry[8..]) switch
            {
                1 => 16,
                2 => 36,
                _ => 0,
            },
            _ => entry.Length,
        };
        if (entry.Length < fixedLength)
        {
            throw new MediaFormatException($"sample entry '{Mp4Types.Format(type)}' is too short");
        }

        // VisualSampleEntry: width and height follow the 8-byte SampleEntry header and 16 bytes of reserved fields.
        var (width, height) = kind == TrackKind.Video
            ? (BinaryPrimitives.ReadUInt16BigEndian(entry[24..]), BinaryPrimitives.ReadUInt16BigEndian(entry[26..]))
            : (0, 0);
        var children = entry[fixedLength..];
        offset = 0;
        while (offset < children.Length)
        {
            var childType = Mp4Box.Read(children, ref offset, out var child);
            if (childType is Mp4Types.AvcC or Mp4Types.HvcC or Mp4Types.VpcC or Mp4Types.Av1C or Mp4Types.DOps or Mp4Types.Esds or Mp4Types.DfLa)
            {
                return (type, child.ToArray(), width, height);
            }
        }

        return (type, [], width, height);
    }

    private static ReadOnlySpan<byte> FindChild(ReadOnlySpan<byte> parent, uint wanted)
    {
        var offset = 0;
        while (offset < parent.Length)
        {
            if (Mp4Box.Read(parent, ref offset, out var body) == wanted)
            {
                return body;
            }
        }

        throw new MediaFormatException($"missing '{Mp4Types.Format(wanted)}' box");
    }

    /// <summary>Where a field sits in a full box whose version 1 widens the fields before it to 64 bits.</summary>
    private static int VersionedOffset(ReadOnlySpan<byte> body, int version0, int version1, uint type) =>
        body.IsEmpty ? throw new MediaFormatException($"box '{Mp4Types.Format(type)}' is too short")
        : body[0] == 1 ? version1 : version0;
}
