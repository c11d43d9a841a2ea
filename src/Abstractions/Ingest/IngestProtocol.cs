namespace LiveStream.Ingest;

/// <summary>How a publisher frames its bytes.</summary>
[GenerateSerializer, Alias("livestream.IngestProtocol")]
public enum IngestProtocol
{
    /// <summary>No subprotocol: every binary message is appended in arrival order.</summary>
    Raw = 0,

    /// <summary><c>livestream.v1</c>: each binary message starts with its 8-byte big-endian offset.</summary>
    V1 = 1,
}
