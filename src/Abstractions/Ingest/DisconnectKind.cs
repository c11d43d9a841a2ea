namespace LiveStream.Ingest;

/// <summary>How a publisher's connection ended, as the gateway saw it.</summary>
[GenerateSerializer, Alias("livestream.DisconnectKind")]
public enum DisconnectKind
{
    /// <summary>A deliberate end: <c>end</c> in livestream.v1, or a raw close with 1000 or no status.</summary>
    End = 0,

    /// <summary>Anything else: 1001, an abrupt drop, a server-side close that opens the reconnect window.</summary>
    Dropped = 1,
}
