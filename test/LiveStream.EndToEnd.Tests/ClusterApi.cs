using System.Net.Http.Json;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>Calls the suites that start their own processes share: readiness, creating a stream, reading a session.</summary>
public static class ClusterApi
{
    /// <summary>Polls a health endpoint until it answers 200.</summary>
    public static async Task WaitReadyAsync(Uri ready, TimeSpan? timeout = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.ReturnsAsync(
            async () =>
            {
                try
                {
                    using var response = await http.GetAsync(ready);
                    return response.IsSuccessStatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            },
            ok => ok,
            timeout ?? TimeSpan.FromSeconds(90),
            ready.ToString());
    }

    /// <summary>Creates a stream with HLS and archive outputs.</summary>
    public static async Task<CreatedStream> CreateStreamAsync(HttpClient api)
    {
        using var response = await api.PostAsJsonAsync("/api/streams", new { outputs = new object[] { new { type = "hls", record = true }, new { type = "archive" } } });
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return new CreatedStream(json.GetProperty("id").GetString()!, json.GetProperty("streamKey").GetString()!, new Uri(json.GetProperty("ingestUrl").GetString()!));
    }

    /// <summary>A session as the API shows it.</summary>
    public static async Task<JsonElement> SessionAsync(HttpClient api, string id) =>
        JsonDocument.Parse(await api.GetStringAsync($"/api/sessions/{id}")).RootElement;
}
