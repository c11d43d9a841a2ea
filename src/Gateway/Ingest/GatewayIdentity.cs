namespace LiveStream.Gateway.Ingest;

/// <summary>This gateway process's id, sent with every connection (for status and debugging).</summary>
public sealed class GatewayIdentity
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";
}
