namespace LiveStream.Capacity;

/// <summary>
/// A silo's admission load in cost units: its capacity and what its live sessions use (see docs/operations.md,
/// "Admission by cost"). <see cref="Silo"/> is the silo address in Orleans' parsable form.
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.SiloLoad")]
public sealed record SiloLoad(
    [property: Id(0)] string Silo,
    [property: Id(1)] int CapacityUnits,
    [property: Id(2)] int UsedUnits,
    [property: Id(3)] int Sessions,
    [property: Id(4)] DateTimeOffset ReportedAt)
{
    /// <summary>Units still free (never negative: sessions already live are never refused, so use can exceed capacity).</summary>
    public int FreeUnits => Math.Max(0, CapacityUnits - UsedUnits);
}
