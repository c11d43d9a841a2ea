using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary><c>wss://</c> ingest through Kestrel's HTTPS endpoint configuration, with a self-signed certificate.</summary>
[Collection(ProcessCluster.Name)]
public sealed class TlsEndToEndTests(LiveStreamProcesses cluster)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 180_000)]
    public async Task A_wss_session_with_a_self_signed_certificate_is_acknowledged_and_archived_byte_exactly()
    {
        var folder = Directory.CreateTempSubdirectory("livestream-tls-");
        try
        {
            using var certificate = SelfSigned();
            var pfx = Path.Combine(folder.FullName, "gateway.pfx");
            const string password = "tls-test-password";
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, password));
            var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);

            var http = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            var https = new Uri($"https://127.0.0.1:{FreePort.Next()}");
            await cluster.StartExtraGatewayAsync(
                "gateway-tls",
                http,
                $"--Kestrel:Endpoints:Http:Url={http.ToString().TrimEnd('/')}",
                $"--Kestrel:Endpoints:Https:Url={https.ToString().TrimEnd('/')}",
                $"--Kestrel:Endpoints:Https:Certificate:Path={pfx}",
                $"--Kestrel:Endpoints:Https:Certificate:Password={password}");

            bool Pinned(X509Certificate? presented) =>
                presented is not null && new X509Certificate2(presented).GetCertHashString(HashAlgorithmName.SHA256) == thumbprint;

            using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, presented, _, _) => Pinned(presented) };
            using var api = new HttpClient(handler) { BaseAddress = https, Timeout = TimeSpan.FromSeconds(60) };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cluster.AdminToken);

            using var created = await api.PostAsJsonAsync("/api/streams", new { outputs = new object[] { new { type = "archive" } } });
            var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
            Assert.True(created.IsSuccessStatusCode, body.ToString());
            cluster.Secrets.Add(body.GetProperty("streamKey").GetString()!);
            var ingestUrl = new Uri(body.GetProperty("ingestUrl").GetString()!);
            Assert.Equal("wss", ingestUrl.Scheme);
            Assert.Equal(https.Port, ingestUrl.Port);

            var capture = MediaCapture.Load("vp8-opus").Bytes;
            await using var publisher = await V1Publisher.ConnectAsync(async cancellationToken =>
            {
                var socket = new ClientWebSocket();
                socket.Options.AddSubProtocol("livestream.v1");
                socket.Options.RemoteCertificateValidationCallback = (_, presented, _, _) => Pinned(presented);
                try
                {
                    await socket.ConnectAsync(ingestUrl, cancellationToken);
                    return socket;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            });
            await publisher.SendRangeAsync(capture, 0, capture.Length, 40_000);
            await publisher.WaitForAckAsync(capture.Length, Wait);
            await publisher.EndAsync();
            await publisher.ServerClose.WaitAsync(Wait);

            var ended = await cluster.WaitForSessionStateAsync(publisher.SessionId, "ended", "failed");
            Assert.Equal("ended", ended.GetProperty("state").GetString());
            var archive = await api.GetByteArrayAsync($"/api/sessions/{publisher.SessionId}/archive");
            Assert.Equal(SHA256.HashData(capture), SHA256.HashData(archive));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}
