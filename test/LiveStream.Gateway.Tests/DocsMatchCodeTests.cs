using System.Reflection;
using System.Text.RegularExpressions;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>The documents that list settings and close codes list every one the code has, and nothing else.</summary>
public sealed partial class DocsMatchCodeTests
{
    [Fact]
    public void The_readme_configuration_table_lists_every_option_and_no_other()
    {
        var documented = ConfigKey().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"))).Select(m => m.Groups[1].Value).ToHashSet();
        var options = OptionKeys().ToHashSet();

        Assert.NotEmpty(options);
        Assert.Empty(options.Except(documented).Order());
        Assert.Empty(documented.Where(k => options.Any(o => o.StartsWith(Section(k) + ":", StringComparison.Ordinal))).Except(options).Order());
    }

    [Fact]
    public void No_table_in_the_docs_is_split_by_a_blank_line()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md").Append(Path.Combine(RepoPaths.Root, "README.md"));
        var splits = new List<string>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 1; i + 2 < lines.Length; i++)
            {
                // A row, a blank line, then a row that is not a new table's header: one table cut in two.
                if (lines[i].Length == 0 && lines[i - 1].StartsWith('|') && lines[i + 1].StartsWith('|') && !lines[i + 2].StartsWith("|-", StringComparison.Ordinal)
                    && !lines[i + 2].StartsWith("| -", StringComparison.Ordinal) && !lines[i + 2].StartsWith("|:", StringComparison.Ordinal))
                {
                    splits.Add($"{Path.GetFileName(file)}:{i + 1}");
                }
            }
        }

        Assert.True(splits.Count == 0, "tables split by a blank line at " + string.Join(", ", splits));
    }

    [Fact]
    public void The_close_code_table_lists_every_close_code_the_code_sends_and_no_other()
    {
        var documented = CloseCodeRow().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "protocol.md"))).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        var codes = typeof(LiveStream.Ingest.CloseCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .Select(f => (int)f.GetRawConstantValue()!)
            .ToHashSet();

        Assert.Empty(codes.Except(documented).Order());
        Assert.Empty(documented.Except(codes).Order());
    }

    /// <summary><c>Section:Property</c> for every settable property of every options class with a <c>Section</c>.</summary>
    private static IEnumerable<string> OptionKeys()
    {
        Assembly[] assemblies = [typeof(Program).Assembly, typeof(LiveStream.Options.LiveStreamOptions).Assembly, typeof(LiveStream.Options.SessionOptions).Assembly, typeof(LiveStream.Options.MembershipOptions).Assembly];
        foreach (var type in assemblies.Distinct().SelectMany(a => a.GetTypes()).Where(t => t.Name.EndsWith("Options", StringComparison.Ordinal)))
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() is not string section)
            {
                continue;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
            {
                yield return $"{section}:{property.Name}";
            }
        }
    }

    private static string Section(string key) => key[..key.LastIndexOf(':')];

    [GeneratedRegex(@"^\| `(LiveStream:[A-Za-z0-9:]+)` \|", RegexOptions.Multiline)]
    private static partial Regex ConfigKey();

    [GeneratedRegex(@"^\| ([0-9]{4}) \|", RegexOptions.Multiline)]
    private static partial Regex CloseCodeRow();
}
