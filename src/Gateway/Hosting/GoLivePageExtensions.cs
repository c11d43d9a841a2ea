using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace LiveStream.Gateway.Hosting;

/// <summary>
/// Serves the Go Live page (<c>/</c>), the browser client (<c>/client/livestream.js</c>), the operations page
/// (<c>/ops/</c>) and the vendored hls.js with its licence (<c>/vendor/hls.js/</c>) from <c>wwwroot</c> beside the binary.
/// </summary>
public static class GoLivePageExtensions
{
    /// <summary>Adds the static-file middleware for <c>wwwroot</c>. Does nothing when the folder is missing.</summary>
    public static WebApplication UseGoLivePage(this WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (!Directory.Exists(root))
        {
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, DefaultFileNames = ["index.html"] });
        var types = new FileExtensionContentTypeProvider(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [".html"] = "text/html; charset=utf-8",
            [".js"] = "text/javascript; charset=utf-8",
            [".mjs"] = "text/javascript; charset=utf-8",
            [".txt"] = "text/plain; charset=utf-8",
            [".css"] = "text/css; charset=utf-8",
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = types,
            // Revalidate every time (ETag/Last-Modified make it cheap): a redeployed client must never mix with a
            // cached older module.
            OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
