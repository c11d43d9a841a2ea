namespace LiveStream.Streams;

/// <summary>
/// Maps stream-key hashes to stream ids and lists streams. One activation (key <see cref="DefaultKey"/>).
/// Its grain id never carries a key or a hash.
/// </summary>
[Alias("livestream.directory")]
public interface IStreamDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The only key this grain is used with.</summary>
    public const string DefaultKey = "default";

    /// <summary>Registers a stream under the hash of its key.</summary>
    [Alias("register")]
    Task RegisterAsync(string streamId, byte[] keyHash);

    /// <summary>Adds another key hash for an existing stream (a rotated key).</summary>
    [Alias("add-key")]
    Task AddKeyAsync(string streamId, byte[] keyHash);

    /// <summary>Removes a key hash of <paramref name="streamId"/>; a hash of another stream is left alone.</summary>
    [Alias("remove-key")]
    Task RemoveKeyAsync(string streamId, byte[] keyHash);

    /// <summary>Removes a stream and every key hash that leads to it.</summary>
    [Alias("remove")]
    Task RemoveAsync(string streamId);

    /// <summary>The stream whose key hashes to <paramref name="keyHash"/>, or null.</summary>
    [Alias("resolve")]
    Task<string?> ResolveAsync(byte[] keyHash);

    /// <summary>Every stream id, oldest first.</summary>
    [Alias("list")]
    Task<IReadOnlyList<string>> ListAsync();
}
