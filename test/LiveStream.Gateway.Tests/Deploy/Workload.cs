using k8s.Models;

namespace LiveStream.Gateway.Tests.Deploy;

/// <summary>A Deployment or a StatefulSet.</summary>
internal sealed record Workload(string Name, V1LabelSelector Selector, int Replicas, V1PodTemplateSpec Template)
{
    public IDictionary<string, string> Labels => Template.Metadata.Labels;

    public V1PodSpec Pod => Template.Spec;

    public IEnumerable<V1Container> Containers => Pod.Containers.Concat(Pod.InitContainers ?? []);
}
