namespace LiveStream.EndToEnd.Tests;

/// <summary>A stream as <c>POST /api/streams</c> created it.</summary>
public sealed record CreatedStream(string Id, string Key, Uri IngestUrl)
{
    /// <summary>The same ingest URL on another gateway.</summary>
    public Uri IngestUrlOn(Uri gateway) => new($"ws://{gateway.Authority}{IngestUrl.AbsolutePath}");
}
