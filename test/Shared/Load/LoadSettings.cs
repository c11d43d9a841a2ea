namespace LiveStream.Testing.Load;

/// <summary>How a load run behaves. Every run is bounded by <see cref="Duration"/> plus a fixed grace for the ends.</summary>
public sealed record LoadSettings
{
    /// <summary>Simulated publishers, one stream each (duplicates come on top).</summary>
    public int Publishers { get; init; } = 10;

    /// <summary>0: the capture's own chunks at their recorded times; else chunks of this many bytes every <see cref="IntervalMs"/>.</summary>
    public int ChunkBytes { get; init; }

    /// <summary>With <see cref="ChunkBytes"/>: ms between chunks.</summary>
    public double IntervalMs { get; init; } = 500;

    /// <summary>Repeat the capture until <see cref="Duration"/> is up.</summary>
    public bool Loop { get; init; } = true;

    /// <summary>Publishers start evenly spread over this time.</summary>
    public TimeSpan RampUp { get; init; }

    /// <summary>The run-time limit: from the start of the run, after which every publisher ends its session with <c>end</c>.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Acks and reconnects of chunks sent before this time (from the start of the run) are not counted: the ramp-up.</summary>
    public TimeSpan MeasureAfter { get; init; }

    /// <summary>When set, each connection is dropped abruptly (no close frame) after a random 0.5 to 1.5 times this, then reopened.</summary>
    public TimeSpan? DropEvery { get; init; }

    /// <summary>This many streams get a second publisher partway through, which takes the session over (the first one gets 4409).</summary>
    public int Duplicates { get; init; }

    /// <summary>Raw mode (no subprotocol, no acks, no resume): drops and duplicates cannot be combined with it.</summary>
    public bool Raw { get; init; }

    /// <summary>Seed of the drop and duplicate timing.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws when the combination cannot be run.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Publishers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Duplicates, Publishers);
        if (Raw && (DropEvery is not null || Duplicates > 0))
        {
            throw new ArgumentException("Raw mode has no resume: drops and duplicate publishers need livestream.v1.");
        }
    }
}
