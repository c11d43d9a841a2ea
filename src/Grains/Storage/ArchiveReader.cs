using LiveStream.Sessions;

namespace LiveStream.Storage;

/// <summary>Reads a range of a session's archive for the API.</summary>
internal static class ArchiveReader
{
    private const int MaxArchiveRead = 1024 * 1024;

    /// <summary>Up to <paramref name="maxBytes"/> (at most 1 MiB) from <paramref name="offset"/>; not found when <paramref name="path"/> is null or missing.</summary>
    public static async Task<ArchiveRead> ReadAsync(string? path, long offset, int maxBytes)
    {
        if (path is null || !File.Exists(path))
        {
            return new ArchiveRead(false, 0, []);
        }

        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        var length = file.Length;
        if (offset < 0 || offset >= length)
        {
            return new ArchiveRead(true, length, []);
        }

        var buffer = new byte[(int)Math.Min(Math.Clamp(maxBytes, 1, MaxArchiveRead), length - offset)];
        file.Position = offset;
        await file.ReadExactlyAsync(buffer);
        return new ArchiveRead(true, length, buffer);
    }
}
