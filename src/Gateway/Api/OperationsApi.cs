using LiveStream.Gateway.Operations;
using LiveStream.Sessions;

namespace LiveStream.Gateway.Api;

/// <summary>The operators' view (<c>docs/api.md</c>): the cluster's live sessions and its members. Admin token required.</summary>
public static class OperationsApi
{
    /// <summary>Maps <c>GET /api/sessions</c> and <c>GET /api/cluster</c>.</summary>
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").AddEndpointFilter<AdminAuthFilter>();
        api.MapGet("/sessions", ListLiveSessionsAsync);
        api.MapGet("/cluster", GetClusterAsync);
        return endpoints;
    }

    private static async Task<IResult> ListLiveSessionsAsync(HttpContext http, LiveSessionScanner scanner, string? state)
    {
        if (SessionFilter.Parse(state) is not { } filter)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["state"] = ["state must be active, disconnected or live (both). Ended sessions are listed per stream: GET /api/streams/{id}/sessions."],
            });
        }

        if (await ScanAsync(scanner, http.RequestAborted) is not { } scan)
        {
            return ClusterUnavailable();
        }

        var sessions = scan.Sessions.Where(s => filter.Matches(s.Status.State)).ToList();
        return Results.Ok(new SessionListResponse(
            filter.Name,
            [.. sessions.Select(s => SessionResponse.From(s.Status))],
            sessions.GroupBy(s => s.Status.StreamId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().StreamName, StringComparer.Ordinal),
            scan.Unanswered));
    }

    private static async Task<IResult> GetClusterAsync(HttpContext http, IGrainFactory grains, LiveSessionScanner scanner)
    {
        MembershipEntry[] hosts;
        try
        {
            hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false).WaitAsync(LiveSessionScanner.ScanTimeout, http.RequestAborted);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            return ClusterUnavailable();
        }

        var scan = await ScanAsync(scanner, http.RequestAborted);
        var bySilo = scan?.Sessions.Where(s => s.Status.Silo is not null).GroupBy(s => s.Status.Silo!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var members = hosts
            .OrderBy(h => h.Status == SiloStatus.Dead)
            .ThenBy(h => h.SiloAddress.ToParsableString(), StringComparer.Ordinal)
            .Select(h => new ClusterMemberResponse(
                h.SiloAddress.ToParsableString(),
                h.SiloName,
                h.HostName,
                ApiMapping.Name(h.Status),
                new DateTimeOffset(DateTime.SpecifyKind(h.StartTime, DateTimeKind.Utc)),
                h.IAmAliveTime == default ? null : new DateTimeOffset(DateTime.SpecifyKind(h.IAmAliveTime, DateTimeKind.Utc)),
                bySilo is null ? null : bySilo.GetValueOrDefault(h.SiloAddress.ToParsableString())))
            .ToList();
        return Results.Ok(new ClusterResponse(members, scan?.Sessions.Count, scan?.Unanswered ?? 0));
    }

    /// <summary>The scan, or null when the cluster could not be asked in time.</summary>
    private static async Task<LiveSessionScan?> ScanAsync(LiveSessionScanner scanner, CancellationToken cancellationToken)
    {
        try
        {
            return await scanner.ScanAsync().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static IResult ClusterUnavailable() =>
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The cluster did not answer", detail: "Try again in a moment.");

    /// <summary>Which live sessions <c>?state=</c> asks for.</summary>
    private sealed record SessionFilter(string Name, SessionState[] States)
    {
        public static SessionFilter? Parse(string? state) => state?.Trim().ToLowerInvariant() switch
        {
            null or "" or "live" => new("live", [SessionState.Active, SessionState.Disconnected]),
            "active" => new("active", [SessionState.Active]),
            "disconnected" => new("disconnected", [SessionState.Disconnected]),
            _ => null,
        };

        public bool Matches(SessionState state) => States.Contains(state);
    }
}

/// <summary>Answer of <c>GET /api/sessions</c>: live sessions across the cluster, oldest first.</summary>
/// <param name="State">The filter applied: <c>live</c>, <c>active</c> or <c>disconnected</c>.</param>
/// <param name="Sessions">Each in the shape of <c>GET /api/sessions/{id}</c>.</param>
/// <param name="StreamNames">The name of each listed session's stream, by stream id.</param>
/// <param name="Unanswered">Stream grains that did not answer in time (a silo dying): their sessions are missing from this answer.</param>
public sealed record SessionListResponse(string State, IReadOnlyList<SessionResponse> Sessions, IReadOnlyDictionary<string, string> StreamNames, int Unanswered);

/// <summary>Answer of <c>GET /api/cluster</c>.</summary>
/// <param name="Members">Every silo in the membership table, the dead ones last.</param>
/// <param name="LiveSessions">Live sessions in the cluster; null when the scan failed.</param>
/// <param name="Unanswered">Stream grains that did not answer the scan.</param>
public sealed record ClusterResponse(IReadOnlyList<ClusterMemberResponse> Members, int? LiveSessions, int Unanswered);

/// <summary>One silo: its address as sessions name it (<c>silo</c>), name, host, status and its live sessions.</summary>
public sealed record ClusterMemberResponse(
    string Address,
    string SiloName,
    string HostName,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? LastHeartbeat,
    int? LiveSessions);
