namespace LiveStream.Ingest;

/// <summary>A publisher's connection, after the gateway resolved its key to a stream.</summary>
[GenerateSerializer, Immutable, Alias("livestream.ConnectRequest")]
public sealed record ConnectRequest(
    [property: Id(0)] byte[] KeyHash,
    [property: Id(1)] IngestProtocol Protocol,
    [property: Id(2)] string GatewayId,
    [property: Id(3)] string ConnectionId,
    [property: Id(4)] IPublisherObserver? Observer = null);
