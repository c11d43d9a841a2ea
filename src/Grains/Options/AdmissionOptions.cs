namespace LiveStream.Options;

/// <summary>Admission by cost (section <c>LiveStream:Admission</c>); see docs/operations.md, "Admission by cost".</summary>
public sealed class AdmissionOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Admission";

    /// <summary>Units one core is worth when <see cref="CapacityUnits"/> is 0: 18 (a unit is about 0.04 cores, with a quarter of the core left for ingest and Orleans).</summary>
    public const int UnitsPerCore = 18;

    /// <summary>
    /// This silo's capacity in cost units: a passthrough session costs 1, a re-encode by its resolution (4 at
    /// 720p). A new session that does not fit is placed on another silo, or refused with 4503 when no silo has
    /// room. 0 (the default): <see cref="UnitsPerCore"/> per processor the silo may use.
    /// </summary>
    public int CapacityUnits { get; set; }

    /// <summary>How often each silo shares its load with the others, for placement. Default 2 s.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The capacity in effect: <see cref="CapacityUnits"/>, or the processor-based default.</summary>
    public int EffectiveCapacityUnits => CapacityUnits > 0 ? CapacityUnits : UnitsPerCore * Environment.ProcessorCount;
}
