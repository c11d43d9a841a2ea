using YamlDotNet.RepresentationModel;

namespace LiveStream.Gateway.Tests.Deploy;

/// <summary>Small reads over YamlDotNet's representation model, failing with the missing key's name.</summary>
internal static class YamlNodes
{
    public static IReadOnlyList<YamlNode> LoadDocuments(string path)
    {
        var stream = new YamlStream();
        using var reader = File.OpenText(path);
        stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).ToList();
    }

    public static YamlNode Get(this YamlNode node, string key) =>
        node.Find(key) ?? throw new KeyNotFoundException($"'{key}' missing at line {node.Start.Line}");

    public static YamlNode? Find(this YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static string Text(this YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    public static string Text(this YamlNode node, string key) => node.Get(key).Text();

    public static IEnumerable<YamlNode> Items(this YamlNode node) => (YamlSequenceNode)node;

    public static IEnumerable<(string Key, YamlNode Value)> Entries(this YamlNode node) =>
        ((YamlMappingNode)node).Children.Select(c => (c.Key.Text(), c.Value));
}
