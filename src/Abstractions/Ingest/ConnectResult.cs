namespace LiveStream.Ingest;

/// <summary>
/// The answer to <see cref="ConnectRequest"/>. <see cref="Owner"/> is the fencing token of the session's owner that
/// accepted it (its lease's token: strictly increasing per stream, so a later owner's is larger).
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.ConnectResult")]
public sealed record ConnectResult(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] int CloseCode,
    [property: Id(2)] string? Reason,
    [property: Id(3)] string? SessionId,
    [property: Id(4)] int Epoch,
    [property: Id(5)] long ResumeFrom,
    [property: Id(6)] int ReconnectWindowSeconds,
    [property: Id(7)] string? HlsUrl,
    [property: Id(8)] string? RetryOnSilo = null,
    [property: Id(9)] long Owner = 0)
{
    /// <summary>A refusal with a close code from <see cref="CloseCodes"/>.</summary>
    public static ConnectResult Refused(int closeCode, string reason) => new(false, closeCode, reason, null, 0, 0, 0, null);

    /// <summary>
    /// Refused by a silo without room while <paramref name="silo"/> (an address in Orleans' parsable form) reported
    /// some: the grain migrates there, and the gateway calls again at once instead of closing the socket.
    /// </summary>
    public static ConnectResult NoRoomHere(string silo) => new(false, CloseCodes.ClusterUnavailable, "no capacity on this silo", null, 0, 0, 0, null, silo);
}
