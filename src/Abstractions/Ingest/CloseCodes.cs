namespace LiveStream.Ingest;

/// <summary>
/// WebSocket close codes of the ingest endpoint, pinned in <c>docs/protocol.md</c>.
/// Refusals complete the upgrade and close at once, because browsers never see the HTTP status of a failed upgrade.
/// </summary>
public static class CloseCodes
{
    /// <summary>Deliberate end: the session ends.</summary>
    public const int Normal = 1000;

    /// <summary>Message too big.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>Internal error.</summary>
    public const int InternalError = 1011;

    /// <summary>Gateway restarting: reconnect elsewhere.</summary>
    public const int GatewayRestarting = 1012;

    /// <summary>Protocol violation (offset gap, text frame in raw mode, malformed message).</summary>
    public const int ProtocolViolation = 4400;

    /// <summary>Unknown or revoked key.</summary>
    public const int UnknownKey = 4401;

    /// <summary>Origin not allowed.</summary>
    public const int OriginNotAllowed = 4403;

    /// <summary>Idle: no data for too long.</summary>
    public const int Idle = 4408;

    /// <summary>Superseded by a newer publisher.</summary>
    public const int Superseded = 4409;

    /// <summary>Ended by the operator (stop or revoke).</summary>
    public const int EndedByOperator = 4410;

    /// <summary>Unsupported or malformed media.</summary>
    public const int UnsupportedMedia = 4415;

    /// <summary>The stream already has a live publisher and its policy is <c>reject</c>.</summary>
    public const int AlreadyLive = 4423;

    /// <summary>Bitrate over the limit.</summary>
    public const int BitrateExceeded = 4429;

    /// <summary>Session failed (FFmpeg failed repeatedly).</summary>
    public const int SessionFailed = 4500;

    /// <summary>Cluster unavailable or full.</summary>
    public const int ClusterUnavailable = 4503;
}
