using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LiveStream.Gateway.Tests.Deploy;

/// <summary>
/// The instructions of a Dockerfile, read as plainly as the deploy files are written: one instruction per logical
/// line (backslash continuations joined), comments dropped, no ARG expansion.
/// </summary>
internal sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<Instruction> instructions) => Instructions = instructions;

    public IReadOnlyList<Instruction> Instructions { get; }

    /// <summary>The arguments of every <c>FROM</c>, in order.</summary>
    public IReadOnlyList<string> Stages => Arguments("FROM").ToList();

    /// <summary>The last stage: what the image holds and runs.</summary>
    public Dockerfile Runtime => new(Instructions.Skip(Instructions.Select((i, n) => (i, n)).Last(x => x.i.Name == "FROM").n).ToList());

    public ISet<int> ExposedPorts => Arguments("EXPOSE").SelectMany(a => a.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse).ToHashSet();

    public IReadOnlyDictionary<string, string?> Environment =>
        Arguments("ENV").SelectMany(a => EnvPair().Matches(a)).ToDictionary(m => m.Groups["key"].Value, m => (string?)m.Groups["value"].Value);

    public IReadOnlyList<string> Entrypoint => JsonSerializer.Deserialize<string[]>(Arguments("ENTRYPOINT").Last())!;

    public string User => Arguments("USER").Last();

    public IEnumerable<string> Arguments(string instruction) =>
        Instructions.Where(i => i.Name == instruction).Select(i => i.Arguments);

    public static Dockerfile Load(string path)
    {
        var instructions = new List<Instruction>();
        var line = new StringBuilder();
        foreach (var raw in File.ReadLines(path))
        {
            var text = raw.Trim();
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }

            if (text.EndsWith('\\'))
            {
                line.Append(text[..^1]).Append(' ');
                continue;
            }

            line.Append(text);
            var whole = Whitespace().Replace(line.ToString(), " ").Trim();
            line.Clear();
            var space = whole.IndexOf(' ', StringComparison.Ordinal);
            instructions.Add(new Instruction(whole[..space].ToUpperInvariant(), whole[(space + 1)..]));
        }

        return new Dockerfile(instructions);
    }

    [GeneratedRegex("""(?<key>[A-Za-z_][A-Za-z0-9_]*)=(?:"(?<value>[^"]*)"|(?<value>[^\s"]*))""")]
    private static partial Regex EnvPair();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    internal sealed record Instruction(string Name, string Arguments);
}
