using LiveStream.Gateway.Api;

namespace LiveStream.Gateway.Hosting;

/// <summary>Prints a generated admin token once on the console: written to stdout directly, never through the logger.</summary>
internal sealed class AdminTokenAnnouncer(AdminToken token) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (token.Generated is { } generated)
        {
            await Console.Out.WriteLineAsync($"LiveStream admin token (generated, shown once; set LiveStream:AdminToken to choose one): {generated}".AsMemory(), cancellationToken);
            await Console.Out.FlushAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
