namespace LiveStream.Media;

/// <summary>
/// One simulcast relay: which session and target (<paramref name="Index"/> among the session's outputs) it serves,
/// the target's URL (a secret: never logged), and what to call once media flows to the target.
/// </summary>
public sealed record RelaySpec(string SessionId, int Index, string Url, Action OnLive);
