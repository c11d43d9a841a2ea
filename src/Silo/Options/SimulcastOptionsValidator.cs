using Microsoft.Extensions.Options;

namespace LiveStream.Options;

/// <summary>Validates <see cref="SimulcastOptions"/>.</summary>
internal sealed class SimulcastOptionsValidator : IValidateOptions<SimulcastOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulcastOptions options)
    {
        var errors = new List<string>();
        if (options.RelayBufferBytes is < 64 * 1024 or > 64 * 1024 * 1024)
        {
            errors.Add("LiveStream:Simulcast:RelayBufferBytes must be between 65536 and 67108864.");
        }

        if (options.MaxBackoff < TimeSpan.FromSeconds(1) || options.MaxBackoff > TimeSpan.FromMinutes(10))
        {
            errors.Add("LiveStream:Simulcast:MaxBackoff must be between 00:00:01 and 00:10:00.");
        }

        if (options.MaxRelayRestarts is < 0 or > 100_000)
        {
            errors.Add("LiveStream:Simulcast:MaxRelayRestarts must be between 0 (retry forever) and 100000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
