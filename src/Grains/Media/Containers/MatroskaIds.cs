namespace LiveStream.Media.Containers;

/// <summary>The Matroska element IDs the reader knows (https://www.matroska.org/technical/elements.html).</summary>
internal static class MatroskaIds
{
    public const uint EbmlHeader = 0x1A45DFA3;
    public const uint DocType = 0x4282;
    public const uint Void = 0xEC;
    public const uint Crc32 = 0xBF;

    public const uint Segment = 0x18538067;
    public const uint SeekHead = 0x114D9B74;
    public const uint Info = 0x1549A966;
    public const uint TimestampScale = 0x2AD7B1;
    public const uint Tracks = 0x1654AE6B;
    public const uint Cluster = 0x1F43B675;
    public const uint Cues = 0x1C53BB6B;
    public const uint Chapters = 0x1043A770;
    public const uint Tags = 0x1254C367;
    public const uint Attachments = 0x1941A469;

    public const uint TrackEntry = 0xAE;
    public const uint TrackNumber = 0xD7;
    public const uint TrackType = 0x83;
    public const uint CodecId = 0x86;
    public const uint CodecPrivate = 0x63A2;
    public const uint Video = 0xE0;
    public const uint PixelWidth = 0xB0;
    public const uint PixelHeight = 0xBA;

    public const uint Timestamp = 0xE7;
    public const uint Position = 0xA7;
    public const uint PrevSize = 0xAB;
    public const uint SilentTracks = 0x5854;
    public const uint SimpleBlock = 0xA3;
    public const uint BlockGroup = 0xA0;
    public const uint EncryptedBlock = 0xAF;

    public const uint Block = 0xA1;
    public const uint BlockVirtual = 0xA2;
    public const uint BlockAdditions = 0x75A1;
    public const uint BlockDuration = 0x9B;
    public const uint ReferencePriority = 0xFA;
    public const uint ReferenceBlock = 0xFB;
    public const uint ReferenceVirtual = 0xFD;
    public const uint CodecState = 0xA4;
    public const uint DiscardPadding = 0x75A2;
    public const uint Slices = 0x8E;

    /// <summary>IDs that belong to the Segment (or start a new recording), so they end an unknown-size Cluster.</summary>
    public static bool EndsCluster(uint id) => id is Cluster or Cues or Tags or Info or Tracks or SeekHead or Chapters or Attachments or EbmlHeader;
}
