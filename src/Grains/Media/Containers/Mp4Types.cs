namespace LiveStream.Media.Containers;

/// <summary>The MP4 box and sample entry types the reader knows (ISO/IEC 14496-12), as big-endian four-character codes.</summary>
internal static class Mp4Types
{
    public const uint Ftyp = 0x66747970;
    public const uint Styp = 0x73747970;
    public const uint Moov = 0x6d6f6f76;
    public const uint Moof = 0x6d6f6f66;
    public const uint Mdat = 0x6d646174;
    public const uint Free = 0x66726565;
    public const uint Skip = 0x736b6970;
    public const uint Sidx = 0x73696478;
    public const uint Emsg = 0x656d7367;
    public const uint Prft = 0x70726674;
    public const uint Uuid = 0x75756964;
    public const uint Mfra = 0x6d667261;
    public const uint Meta = 0x6d657461;
    public const uint Udta = 0x75647461;
    public const uint Pdin = 0x7064696e;
    public const uint Ssix = 0x73736978;

    public const uint Trak = 0x7472616b;
    public const uint Tkhd = 0x746b6864;
    public const uint Mdia = 0x6d646961;
    public const uint Mdhd = 0x6d646864;
    public const uint Hdlr = 0x68646c72;
    public const uint Minf = 0x6d696e66;
    public const uint Stbl = 0x7374626c;
    public const uint Stsd = 0x73747364;
    public const uint Mvex = 0x6d766578;
    public const uint Trex = 0x74726578;

    public const uint Mfhd = 0x6d666864;
    public const uint Traf = 0x74726166;
    public const uint Tfhd = 0x74666864;
    public const uint Tfdt = 0x74666474;
    public const uint Trun = 0x7472756e;

    public const uint Vide = 0x76696465;
    public const uint Soun = 0x736f756e;

    public const uint Avc1 = 0x61766331;
    public const uint Avc3 = 0x61766333;
    public const uint Vp08 = 0x76703038;
    public const uint Vp09 = 0x76703039;
    public const uint Av01 = 0x61763031;
    public const uint Opus = 0x4f707573;
    public const uint Mp4a = 0x6d703461;

    public const uint AvcC = 0x61766343;
    public const uint HvcC = 0x68766343;
    public const uint VpcC = 0x76706343;
    public const uint Av1C = 0x61763143;
    public const uint DOps = 0x644f7073;
    public const uint Esds = 0x65736473;
    public const uint DfLa = 0x64664c61;

    /// <summary>The code as text when printable, else in hex, so it can go into an error message.</summary>
    public static string Format(uint type)
    {
        Span<char> chars = stackalloc char[4];
        for (var i = 0; i < 4; i++)
        {
            var c = (char)((type >> (24 - (8 * i))) & 0xFF);
            if (c is < ' ' or > '~')
            {
                return $"0x{type:X8}";
            }

            chars[i] = c;
        }

        return new string(chars);
    }
}
