using LiveStream.Options;

namespace LiveStream.Grains.Tests;

public sealed class SimulcastOptionsTests
{
    [Fact(Timeout = 10_000)]
    public async Task The_defaults_are_valid()
    {
        await Task.Yield();
        Assert.True(new SimulcastOptionsValidator().Validate(null, new SimulcastOptions()).Succeeded);
    }

    [Fact(Timeout = 10_000)]
    public async Task Every_bad_value_is_reported_at_once_under_its_config_key()
    {
        await Task.Yield();
        var result = new SimulcastOptionsValidator().Validate(null, new SimulcastOptions
        {
            RelayBufferBytes = 1000,
            MaxBackoff = TimeSpan.Zero,
            MaxRelayRestarts = -1,
        });

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Equal(3, failures.Count);
        Assert.Contains(failures, f => f.StartsWith("LiveStream:Simulcast:RelayBufferBytes", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("LiveStream:Simulcast:MaxBackoff", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("LiveStream:Simulcast:MaxRelayRestarts", StringComparison.Ordinal));
    }
}
