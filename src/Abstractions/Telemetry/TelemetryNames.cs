namespace LiveStream.Telemetry;

/// <summary>The names silos and gateways share for their telemetry, so one dashboard and one trace cover both.</summary>
public static class TelemetryNames
{
    /// <summary>Name of the project's meter and activity source.</summary>
    public const string LiveStream = "LiveStream";
}
