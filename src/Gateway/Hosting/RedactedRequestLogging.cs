using System.Diagnostics;
using LiveStream.Media;
using Microsoft.AspNetCore.Http.Features;

namespace LiveStream.Gateway.Hosting;

/// <summary>
/// Request logging with stream keys masked. ASP.NET Core's own request log (category
/// <c>Microsoft.AspNetCore.Hosting.Diagnostics</c>) prints the raw path, which carries the key on the ingest
/// route, so it is held at Warning and this middleware logs each request instead. It also masks the key in the
/// request's activity name and <c>url.path</c> before any span is exported.
/// </summary>
internal sealed partial class RedactedRequestLogging(RequestDelegate next, ILogger<RedactedRequestLogging> logger)
{
    /// <summary>The category whose Information logs carry raw request paths.</summary>
    public const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public async Task InvokeAsync(HttpContext context)
    {
        var path = SecretRedactor.RedactPath(context.Request.Path.Value ?? "");
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is { } activity)
        {
            activity.DisplayName = $"{context.Request.Method} {path}";
            if (activity.GetTagItem("url.path") is not null)
            {
                activity.SetTag("url.path", path);
            }
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            LogRequest(logger, context.Request.Method, path, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "HTTP {Method} {Path} responded {StatusCode} in {ElapsedMs:0.0} ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int statusCode, double elapsedMs);
}
