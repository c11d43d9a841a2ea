namespace LiveStream.Streams;

/// <summary>Names of grain storage providers.</summary>
public static class StorageNames
{
    /// <summary>
    /// Streams, their key hashes, sessions and the key directory: Redis when configured, else files under
    /// <c>{DataPath}/state</c> (so keys survive a restart of the embedded default).
    /// </summary>
    public const string LiveStream = "livestream";

    /// <summary>
    /// A live session's failover state, written before every acknowledgement: Redis when configured, else memory
    /// (one process has no other silo to fail over to).
    /// </summary>
    public const string Failover = "livestream-failover";
}
