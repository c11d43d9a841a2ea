namespace LiveStream.Leases;

/// <summary>A granted lease: who holds it and its fencing token (strictly increasing per stream).</summary>
public sealed record Lease(long Token, string Holder)
{
    /// <summary>The stored form: <c>{token}|{holder}</c>.</summary>
    public string Value => $"{Token}|{Holder}";

    /// <summary>Parses the stored form.</summary>
    public static Lease? Parse(string? value)
    {
        var bar = value?.IndexOf('|', StringComparison.Ordinal) ?? -1;
        return bar > 0 && long.TryParse(value.AsSpan(0, bar), out var token) ? new Lease(token, value![(bar + 1)..]) : null;
    }
}
