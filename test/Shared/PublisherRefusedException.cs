namespace LiveStream.Testing;

/// <summary>The server closed the connection before <c>hello</c>: a refusal such as 4401, 4423 or 4503.</summary>
public sealed class PublisherRefusedException(int? closeCode, string? reason)
    : Exception($"refused with {closeCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no close frame"}: {reason}")
{
    public int? CloseCode { get; } = closeCode;
}
