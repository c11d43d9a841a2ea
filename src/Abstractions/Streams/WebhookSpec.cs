namespace LiveStream.Streams;

/// <summary>
/// A stream's own webhook receiver: an absolute http(s) URL and the secret its events are signed with. The secret
/// is shown only in the create or update response that set it; <see cref="StreamInfo"/> never carries it.
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.WebhookSpec")]
public sealed record WebhookSpec(
    [property: Id(0)] string Url,
    [property: Id(1)] string Secret);
