using System.Globalization;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using LiveStream.Testing;
using YamlDotNet.RepresentationModel;

namespace LiveStream.Gateway.Tests.Deploy;

/// <summary>
/// The objects of <c>deploy/k8s</c>, read with KubernetesClient's typed models (strict: an unknown field fails), and
/// the little of Kubernetes' behaviour the tests need: label selectors, and the environment a container gets.
/// </summary>
internal static partial class KubernetesManifests
{
    public static readonly string Folder = Path.Combine(RepoPaths.Root, "deploy", "k8s");

    private static readonly Lazy<IReadOnlyList<object>> Objects = new(() => Files()
        .SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f), strict: true))
        .ToList());

    /// <summary>Every object of every manifest file (all documents of each).</summary>
    public static IReadOnlyList<object> All => Objects.Value;

    public static YamlNode Kustomization => YamlNodes.LoadDocuments(Path.Combine(Folder, "kustomization.yaml")).Single();

    /// <summary>The manifest files: every <c>*.yaml</c> of the folder except the kustomization.</summary>
    public static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(Folder, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").Order(StringComparer.Ordinal);

    /// <summary>The Deployments and StatefulSets, with their pod templates.</summary>
    public static IReadOnlyList<Workload> Workloads() =>
        All.OfType<V1Deployment>().Select(d => new Workload(d.Metadata.Name, d.Spec.Selector, d.Spec.Replicas ?? 1, d.Spec.Template))
            .Concat(All.OfType<V1StatefulSet>().Select(s => new Workload(s.Metadata.Name, s.Spec.Selector, s.Spec.Replicas ?? 1, s.Spec.Template)))
            .ToList();

    public static Workload Workload(string name) => Assert.Single(Workloads(), w => w.Name == name);

    /// <summary>Whether a label selector selects these labels. An empty selector selects everything.</summary>
    public static bool Selects(this V1LabelSelector selector, IDictionary<string, string> labels) =>
        (selector.MatchLabels ?? new Dictionary<string, string>()).All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value)
        && (selector.MatchExpressions ?? []).All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var value) && e.Values.Contains(value),
            "NotIn" => !labels.TryGetValue(e.Key, out var value) || !e.Values.Contains(value),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => throw new InvalidOperationException($"unknown selector operator {e.OperatorProperty}"),
        });

    /// <summary>
    /// The environment Kubernetes gives a container: <c>$(NAME)</c> references to variables defined earlier in the
    /// list are expanded, as the kubelet does; a <c>resourceFieldRef</c> gets the container's own resource divided by
    /// the divisor and rounded up; a field or a Secret gets a stand-in (<c>from-status.podIP</c>,
    /// <c>from-livestream-redis-password</c>).
    /// </summary>
    public static Dictionary<string, string?> Environment(V1Container container)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var variable in container.Env ?? [])
        {
            environment[variable.Name] = variable.Value is { } value
                ? Reference().Replace(value, m => environment.TryGetValue(m.Groups["name"].Value, out var defined) ? defined ?? m.Value : m.Value)
                : Source(container, variable.ValueFrom);
        }

        return environment;
    }

    /// <summary>The arguments of a container as it runs, <c>$(NAME)</c> expanded from its environment.</summary>
    public static IReadOnlyList<string> ExpandedArgs(V1Container container)
    {
        var environment = Environment(container);
        return (container.Args ?? []).Select(a => Reference().Replace(a, m => environment.TryGetValue(m.Groups["name"].Value, out var defined) ? defined ?? m.Value : m.Value)).ToList();
    }

    /// <summary>The stand-in value a Secret's key gets in <see cref="Environment"/>.</summary>
    public static string SecretStandIn(string secret, string key) => $"from-{secret}-{key}";

    private static string Source(V1Container container, V1EnvVarSource source)
    {
        if (source.SecretKeyRef is { } secret)
        {
            return SecretStandIn(secret.Name, secret.Key);
        }

        if (source.FieldRef is { } field)
        {
            return $"from-{field.FieldPath}";
        }

        if (source.ResourceFieldRef is { } resource)
        {
            Assert.True(resource.ContainerName is null || resource.ContainerName == container.Name, $"{container.Name}: resourceFieldRef names container {resource.ContainerName}");
            var kind = resource.Resource.Split('.');
            var table = kind[0] switch
            {
                "requests" => container.Resources?.Requests,
                "limits" => container.Resources?.Limits,
                _ => throw new InvalidOperationException($"{container.Name}: unknown resource {resource.Resource}"),
            };
            Assert.True(table is not null && table.ContainsKey(kind[1]), $"{container.Name}: {resource.Resource} is not set, so the variable would get the node's allocatable amount");
            var divisor = resource.Divisor?.ToDecimal() ?? 1m;
            return decimal.Ceiling(table[kind[1]].ToDecimal() / divisor).ToString(CultureInfo.InvariantCulture);
        }

        throw new InvalidOperationException($"{container.Name}: unsupported variable source");
    }

    [GeneratedRegex(@"\$\((?<name>[A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();
}
