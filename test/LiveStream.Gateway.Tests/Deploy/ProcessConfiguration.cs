using System.Globalization;
using System.Reflection;
using LiveStream.Gateway.Options;
using LiveStream.Options;
using LiveStream.Testing;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting.Kubernetes;

namespace LiveStream.Gateway.Tests.Deploy;

/// <summary>The configuration a LiveStream process builds from the environment a deploy file gives it.</summary>
internal static class ProcessConfiguration
{
    /// <summary>Every options class a <c>LiveStream__…</c> variable may bind to, by section.</summary>
    private static readonly (Type Type, string Section)[] OptionsSections =
    [
        (typeof(LiveStreamOptions), LiveStreamOptions.Section),
        (typeof(ClusterHostingOptions), ClusterHostingOptions.Section),
        (typeof(FfmpegOptions), FfmpegOptions.Section),
        (typeof(SessionOptions), SessionOptions.Section),
        (typeof(LeaseOptions), LeaseOptions.Section),
        (typeof(GatewayHostingOptions), GatewayHostingOptions.Section),
        (typeof(IngestOptions), IngestOptions.Section),
    ];

    /// <summary>
    /// Variables that are not LiveStream options: the listening address, Orleans' Kubernetes hosting,
    /// OpenTelemetry's (the OTLP endpoint turns the exporter on, see TelemetryExtensions; the SDK reads the service name),
    /// the .NET runtime's processor count (<c>Environment.ProcessorCount</c>, which admission capacity follows), and
    /// the Redis password the Kubernetes manifests expand into <c>ConnectionStrings__Redis</c>.
    /// </summary>
    private static readonly string[] OtherVariables =
    [
        "URLS",
        "DOTNET_PROCESSOR_COUNT",
        "REDIS_PASSWORD",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SERVICE_NAME",
        "ASPNETCORE_HTTP_PORTS",
        "ConnectionStrings__Redis",
        KubernetesHostingOptions.ServiceIdEnvironmentVariable,
        KubernetesHostingOptions.ClusterIdEnvironmentVariable,
        KubernetesHostingOptions.PodNameEnvironmentVariable,
        KubernetesHostingOptions.PodNamespaceEnvironmentVariable,
        KubernetesHostingOptions.PodIPEnvironmentVariable,
    ];

    /// <summary>
    /// The configuration of <c>src/{project}</c> run with this environment, read in the order
    /// <c>WebApplication.CreateBuilder</c> reads it: <c>ASPNETCORE_</c> variables, then appsettings.json, then every
    /// variable. This order is why the images set <c>URLS</c>: appsettings.json's <c>Urls</c> beats <c>ASPNETCORE_URLS</c>.
    /// </summary>
    public static IConfiguration For(string project, IReadOnlyDictionary<string, string?> environment) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(environment
                .Where(e => e.Key.StartsWith("ASPNETCORE_", StringComparison.Ordinal))
                .Select(e => KeyValuePair.Create(ToKey(e.Key["ASPNETCORE_".Length..]), e.Value)))
            .AddJsonFile(Path.Combine(RepoPaths.Root, "src", project, "appsettings.json"))
            .AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(ToKey(e.Key), e.Value)))
            .Build();

    public static T Bind<T>(this IConfiguration configuration, string section)
        where T : new() =>
        configuration.GetSection(section).Get<T>() ?? new T();

    /// <summary>The port of the single URL the process listens on (<c>Urls</c>).</summary>
    public static int ListeningPort(this IConfiguration configuration)
    {
        var urls = configuration["urls"] ?? throw new InvalidOperationException("no Urls");
        Assert.DoesNotContain(";", urls, StringComparison.Ordinal);
        return new Uri(urls).Port;
    }

    /// <summary>
    /// Asserts that every variable is one the processes read: a <c>LiveStream__…</c> variable must name a settable
    /// property of the options class of its section, and its value must bind to that property unchanged.
    /// </summary>
    public static void AssertNamesRealOptions(string source, IReadOnlyDictionary<string, string?> environment)
    {
        foreach (var (name, value) in environment)
        {
            if (!name.StartsWith("LiveStream__", StringComparison.Ordinal))
            {
                Assert.True(OtherVariables.Contains(name, StringComparer.Ordinal), $"{source}: {name} is read by nothing");
                continue;
            }

            var key = ToKey(name);
            var section = key[..key.LastIndexOf(':')];
            var options = OptionsSections.Where(o => string.Equals(o.Section, section, StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.True(options.Count == 1, $"{source}: {name} names no options section ({section})");
            var property = options[0].Type.GetProperty(key[(section.Length + 1)..], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            Assert.True(property is { CanWrite: true }, $"{source}: {name} names no settable property of {options[0].Type.Name}");

            var bound = Activator.CreateInstance(options[0].Type)!;
            new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create(key, value)]).Build()
                .GetSection(section).Bind(bound, o => o.ErrorOnUnknownConfiguration = true);
            Assert.True(
                string.Equals(value, Convert.ToString(property.GetValue(bound), CultureInfo.InvariantCulture), StringComparison.OrdinalIgnoreCase),
                $"{source}: {name}={value} binds to {property.GetValue(bound)}");
        }
    }

    private static string ToKey(string variable) => variable.Replace("__", ":", StringComparison.Ordinal);
}
