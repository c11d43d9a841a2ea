using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>Where one output of a live session stands.</summary>
[GenerateSerializer, Alias("livestream.OutputState")]
public enum OutputState
{
    /// <summary>Its process is starting or has not reached the destination yet.</summary>
    Starting = 0,

    /// <summary>Media flows to the destination.</summary>
    Live = 1,

    /// <summary>Its process exited; it is started again after a backoff.</summary>
    Retrying = 2,

    /// <summary>Given up: no further attempt is made in this session.</summary>
    Failed = 3,
}

/// <summary>
/// One output of a live session: its type, its URL with the key masked, its state, the last error its process
/// wrote (secrets masked), how often it was started again, and its process id while one runs.
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.OutputStatus")]
public sealed record OutputStatus(
    [property: Id(0)] OutputType Type,
    [property: Id(1)] string? Url,
    [property: Id(2)] OutputState State,
    [property: Id(3)] string? LastError,
    [property: Id(4)] int Restarts,
    [property: Id(5)] int? Pid);
