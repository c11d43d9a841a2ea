namespace LiveStream.Grains.Tests;

/// <summary>Writes the FLV units an encoder's stdout carries, for the stand-in encoder of the simulcast tests.</summary>
public static class FlvWriter
{
    public static byte[] Header(bool video = true, bool audio = true) =>
        [(byte)'F', (byte)'L', (byte)'V', 1, (byte)((video ? 1 : 0) | (audio ? 4 : 0)), 0, 0, 0, 9, 0, 0, 0, 0];

    public static byte[] Metadata() => Tag(18, 0, [2, 0, 10, .. "onMetaData"u8]);

    public static byte[] VideoConfig() => Tag(9, 0, [0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f]);

    public static byte[] AudioConfig() => Tag(8, 0, [0xAF, 0, 0x11, 0x90]);

    public static byte[] Keyframe(int ms, int payload = 32) => Tag(9, ms, [0x17, 1, 0, 0, 0, .. new byte[payload]]);

    public static byte[] Frame(int ms, int payload = 32) => Tag(9, ms, [0x27, 1, 0, 0, 0, .. new byte[payload]]);

    public static byte[] Audio(int ms) => Tag(8, ms, [0xAF, 1, 0x21, 0x10]);

    /// <summary>The units an encoder writes first: header, metadata and both configurations.</summary>
    public static byte[] Start() => [.. Header(), .. Metadata(), .. VideoConfig(), .. AudioConfig()];

    public static byte[] Tag(byte type, int ms, byte[] data)
    {
        var unit = new byte[11 + data.Length + 4];
        unit[0] = type;
        unit[1] = (byte)(data.Length >> 16);
        unit[2] = (byte)(data.Length >> 8);
        unit[3] = (byte)data.Length;
        unit[4] = (byte)(ms >> 16);
        unit[5] = (byte)(ms >> 8);
        unit[6] = (byte)ms;
        unit[7] = (byte)(ms >> 24);
        data.CopyTo(unit, 11);
        var size = 11 + data.Length;
        unit[^4] = (byte)(size >> 24);
        unit[^3] = (byte)(size >> 16);
        unit[^2] = (byte)(size >> 8);
        unit[^1] = (byte)size;
        return unit;
    }

    /// <summary>True when <paramref name="haystack"/> contains <paramref name="needle"/>.</summary>
    public static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    public static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
