using LiveStream.Hosting;

namespace LiveStream.Silo;

/// <summary>
/// The silo program. A class with a <c>Main</c> (not top-level statements), so the gateway, which references this
/// project to host the embedded default, keeps the only <c>Program</c>.
/// </summary>
internal static class SiloProgram
{
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddLiveStreamSilo();

        var app = builder.Build();
        app.MapLiveStreamHealth();
        app.MapLiveStreamMetrics();
        app.Run();
    }
}
