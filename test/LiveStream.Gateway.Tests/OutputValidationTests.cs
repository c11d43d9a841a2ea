using LiveStream.Gateway.Api;
using LiveStream.Streams;

namespace LiveStream.Gateway.Tests;

public sealed class OutputValidationTests
{
    [Fact]
    public void No_outputs_means_hls()
    {
        var (outputs, errors) = OutputValidation.Parse(null);

        Assert.Empty(errors);
        Assert.Equal([new OutputSpec(OutputType.Hls)], outputs);
    }

    [Theory]
    [InlineData("rtmp://live.example.com/app/key")]
    [InlineData("rtmps://global-live.mux.com:443/app/0f8e-secret")]
    public void Rtmp_and_rtmps_urls_with_a_host_are_accepted(string url)
    {
        var (outputs, errors) = OutputValidation.Parse([new OutputRequest("rtmp", url)]);

        Assert.Empty(errors);
        Assert.Equal(url, Assert.Single(outputs).Url);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("pipe:1")]
    [InlineData("concat:a.ts|b.ts")]
    [InlineData("subfile:,,start,0,end,0,,:/etc/passwd")]
    [InlineData("http://example.com/x")]
    [InlineData("https://example.com/x")]
    [InlineData("/tmp/out.flv")]
    [InlineData("-f")]
    [InlineData("rtmp://host/app/key -f null")]
    [InlineData("rtmp:///app/key")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_but_an_rtmp_url_with_a_host_is_refused(string? url)
    {
        var (_, errors) = OutputValidation.Parse([new OutputRequest("rtmp", url)]);

        Assert.Contains(errors, e => e.Contains("outputs[0].url", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_output_type_is_refused()
    {
        var (_, errors) = OutputValidation.Parse([new OutputRequest("file", "/tmp/x")]);

        Assert.Contains(errors, e => e.Contains("outputs[0].type", StringComparison.Ordinal));
    }

    [Fact]
    public void Hls_keeps_a_live_window_unless_record_is_asked_for()
    {
        var (outputs, errors) = OutputValidation.Parse([new OutputRequest("hls", null), new OutputRequest("archive", null)]);
        var (recorded, recordErrors) = OutputValidation.Parse([new OutputRequest("hls", null, Record: true)]);

        Assert.Empty(errors);
        Assert.Empty(recordErrors);
        Assert.False(outputs[0].Record);
        Assert.True(Assert.Single(recorded).Record);
    }

    [Fact]
    public void Record_on_anything_but_hls_is_refused()
    {
        var (_, errors) = OutputValidation.Parse([new OutputRequest("rtmp", "rtmp://live.example.com/app/key", Record: true)]);

        Assert.Contains(errors, e => e.Contains("outputs[0].record", StringComparison.Ordinal));
    }
}
