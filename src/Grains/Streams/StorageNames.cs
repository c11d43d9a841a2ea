namespace LiveStream.Streams;

/// <summary>Names of grain storage providers.</summary>
public static class StorageNames
{
    /// <summary>The provider holding streams, sessions and the key directory (memory by default, Redis when configured).</summary>
    public const string LiveStream = "livestream";
}
