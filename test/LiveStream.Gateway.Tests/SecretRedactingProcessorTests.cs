using System.Diagnostics;
using LiveStream.Telemetry;

namespace LiveStream.Gateway.Tests;

public sealed class SecretRedactingProcessorTests
{
    [Fact]
    public void A_span_that_carries_an_ingest_key_or_rtmp_key_is_masked_before_export()
    {
        using var activity = new Activity("GET /stream/live/lsk_secretkey");
        activity.SetTag("url.path", "/stream/live/lsk_secretkey");
        activity.SetTag("url.full", "http://127.0.0.1:8080/stream/live/lsk_secretkey?x=1");
        activity.SetTag("output", "rtmps://live.example.com/app/platform-secret");
        activity.SetTag("count", 3);

        new SecretRedactingProcessor().OnEnd(activity);

        Assert.Equal("GET /stream/live/[redacted]", activity.DisplayName);
        Assert.Equal("/stream/live/[redacted]", activity.GetTagItem("url.path"));
        Assert.Equal("http://127.0.0.1:8080/stream/live/[redacted]?x=1", activity.GetTagItem("url.full"));
        Assert.Equal("rtmps://live.example.com/app/[redacted]", activity.GetTagItem("output"));
        Assert.Equal(3, activity.GetTagItem("count"));
    }
}
