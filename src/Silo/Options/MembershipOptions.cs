namespace LiveStream.Options;

/// <summary>
/// How fast a dead silo is noticed (section <c>LiveStream:Membership</c>), applied to Orleans'
/// <c>ClusterMembershipOptions</c>. Orleans' defaults (5 s probes, 3 missed, 2 votes) take 15-20 s; these take
/// about 6 s yet leave a busy 2-core machine three chances before a slow silo is declared dead. Lower values
/// re-home sessions faster but risk declaring a merely slow silo dead (its sessions then move, costing a
/// keyframe interval each).
/// </summary>
public sealed class MembershipOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Membership";

    /// <summary>Timeout of one liveness probe. Default 2 s.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Missed probes before a silo suspects another. Default 3.</summary>
    public int NumMissedProbesLimit { get; set; } = 3;

    /// <summary>Suspicions needed to declare a silo dead (Orleans caps it by the silos alive to vote). Default 2.</summary>
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How often the membership table is read again. Default 5 s.</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
