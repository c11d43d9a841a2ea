using Microsoft.Extensions.Options;

namespace LiveStream.Options;

/// <summary>Validates <see cref="LiveStreamOptions"/>; each message names the configuration key.</summary>
internal sealed class LiveStreamOptionsValidator : IValidateOptions<LiveStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, LiveStreamOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataPath))
        {
            errors.Add("LiveStream:DataPath must name a folder.");
        }

        if (options.AdminToken is { Length: > 0 and < 16 })
        {
            errors.Add("LiveStream:AdminToken must be at least 16 characters.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="ClusterHostingOptions"/>.</summary>
internal sealed class ClusterHostingOptionsValidator : IValidateOptions<ClusterHostingOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterHostingOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            errors.Add("LiveStream:Cluster:ClusterId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceId))
        {
            errors.Add("LiveStream:Cluster:ServiceId must not be empty.");
        }

        if (options.SiloPort is <= 0 or > 65535)
        {
            errors.Add("LiveStream:Cluster:SiloPort must be a TCP port (1-65535).");
        }

        if (options.GatewayPort is <= 0 or > 65535)
        {
            errors.Add("LiveStream:Cluster:GatewayPort must be a TCP port (1-65535).");
        }

        if (options.PrimarySiloPort is < 0 or > 65535)
        {
            errors.Add("LiveStream:Cluster:PrimarySiloPort must be 0 or a TCP port.");
        }

        if (!System.Net.IPAddress.TryParse(options.AdvertisedAddress, out _))
        {
            errors.Add("LiveStream:Cluster:AdvertisedAddress must be an IP address.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="FfmpegOptions"/>.</summary>
internal sealed class FfmpegOptionsValidator : IValidateOptions<FfmpegOptions>
{
    private static readonly string[] Presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];

    public ValidateOptionsResult Validate(string? name, FfmpegOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            errors.Add("LiveStream:Ffmpeg:Path must name the ffmpeg executable.");
        }

        if (!Presets.Contains(options.Preset, StringComparer.Ordinal))
        {
            errors.Add($"LiveStream:Ffmpeg:Preset must be one of {string.Join(", ", Presets)}.");
        }

        if (options.HlsSegmentSeconds is < 1 or > 10)
        {
            errors.Add("LiveStream:Ffmpeg:HlsSegmentSeconds must be between 1 and 10.");
        }

        if (options.HlsWindowSegments is < 3 or > 1000)
        {
            errors.Add("LiveStream:Ffmpeg:HlsWindowSegments must be between 3 and 1000.");
        }

        if (options.StopTimeout <= TimeSpan.Zero || options.KillTimeout <= TimeSpan.Zero)
        {
            errors.Add("LiveStream:Ffmpeg:StopTimeout and LiveStream:Ffmpeg:KillTimeout must be positive.");
        }

        if (options.StderrTailLines is < 1 or > 1000)
        {
            errors.Add("LiveStream:Ffmpeg:StderrTailLines must be between 1 and 1000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="SessionOptions"/>.</summary>
internal sealed class SessionOptionsValidator : IValidateOptions<SessionOptions>
{
    public ValidateOptionsResult Validate(string? name, SessionOptions options)
    {
        var errors = new List<string>();
        if (options.BufferBytes is < 64 * 1024 or > 1024 * 1024 * 1024)
        {
            errors.Add("LiveStream:Session:BufferBytes must be between 65536 and 1073741824.");
        }

        if (options.HistoryLimit is < 1 or > 10000)
        {
            errors.Add("LiveStream:Session:HistoryLimit must be between 1 and 10000.");
        }

        if (options.TickInterval < TimeSpan.FromMilliseconds(50) || options.TickInterval > TimeSpan.FromSeconds(10))
        {
            errors.Add("LiveStream:Session:TickInterval must be between 00:00:00.05 and 00:00:10.");
        }

        if (options.IdleTickInterval < options.TickInterval || options.IdleTickInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add("LiveStream:Session:IdleTickInterval must be at least LiveStream:Session:TickInterval and at most 00:01:00.");
        }

        if (options.MaxFfmpegRestarts is < 0 or > 100)
        {
            errors.Add("LiveStream:Session:MaxFfmpegRestarts must be between 0 and 100.");
        }

        if (options.MaxBitsPerSecond is not 0 and < 100_000 || options.IngestBurst < TimeSpan.FromSeconds(1) || options.IngestBurst > TimeSpan.FromMinutes(10))
        {
            errors.Add("LiveStream:Session:MaxBitsPerSecond must be 0 (no cap) or at least 100000, and LiveStream:Session:IngestBurst between 00:00:01 and 00:10:00.");
        }

        if (options.EndWait < TimeSpan.Zero || options.EndWait > TimeSpan.FromMinutes(5))
        {
            errors.Add("LiveStream:Session:EndWait must be between 00:00:00 and 00:05:00.");
        }

        if (options.PublisherTimeout < options.TickInterval * 2 || options.PublisherTimeout > TimeSpan.FromHours(1))
        {
            errors.Add("LiveStream:Session:PublisherTimeout must be at least twice LiveStream:Session:TickInterval and at most 01:00:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="LeaseOptions"/>.</summary>
internal sealed class LeaseOptionsValidator : IValidateOptions<LeaseOptions>
{
    public ValidateOptionsResult Validate(string? name, LeaseOptions options)
    {
        var errors = new List<string>();
        if (options.Ttl < TimeSpan.FromSeconds(1))
        {
            errors.Add("LiveStream:Lease:Ttl must be at least 00:00:01.");
        }

        if (options.StopMargin < TimeSpan.FromMilliseconds(100) || options.StopMargin * 2 > options.Ttl)
        {
            errors.Add("LiveStream:Lease:StopMargin must be at least 00:00:00.1 and at most half of LiveStream:Lease:Ttl.");
        }

        if (options.RenewInterval <= TimeSpan.Zero || options.RenewInterval * 2 > options.Ttl - options.StopMargin)
        {
            errors.Add("LiveStream:Lease:RenewInterval must be positive and at most half of LiveStream:Lease:Ttl minus LiveStream:Lease:StopMargin (a holder must get two renewals in before it stops).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="RetentionOptions"/>; each message names the configuration key.</summary>
internal sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var errors = new List<string>();
        if (options.StreamQuotaBytes < 0)
        {
            errors.Add("LiveStream:Retention:StreamQuotaBytes must not be negative (0: no quota).");
        }

        if (options.Days is < 0 or > 36500)
        {
            errors.Add("LiveStream:Retention:Days must be between 0 (keep) and 36500.");
        }

        if (options.SweepInterval < TimeSpan.FromSeconds(1) || options.QuotaCheckInterval < TimeSpan.FromMilliseconds(100))
        {
            errors.Add("LiveStream:Retention:SweepInterval must be at least 00:00:01 and LiveStream:Retention:QuotaCheckInterval at least 00:00:00.1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="AdmissionOptions"/>; each message names the configuration key.</summary>
internal sealed class AdmissionOptionsValidator : IValidateOptions<AdmissionOptions>
{
    public ValidateOptionsResult Validate(string? name, AdmissionOptions options)
    {
        var errors = new List<string>();
        if (options.CapacityUnits < 0)
        {
            errors.Add("LiveStream:Admission:CapacityUnits must not be negative (0: 18 per processor).");
        }

        if (options.ReportInterval < TimeSpan.FromMilliseconds(50) || options.ReportInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add("LiveStream:Admission:ReportInterval must be between 00:00:00.05 and 00:01:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
