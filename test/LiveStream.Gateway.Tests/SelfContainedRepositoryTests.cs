using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// The repository is enough to run its tests: nothing in the tests, scripts or benchmarks names a path outside it.
/// (<c>.ci/run</c> proves it for real by running the suite on a copy in a folder with nothing beside it.)
/// </summary>
public sealed class SelfContainedRepositoryTests
{
    private static readonly string[] OutsidePaths = ["../shared", "..\\shared", "shared/media", "/work/", "/root/"];

    [Fact]
    public void No_test_script_or_benchmark_names_a_folder_outside_the_repository()
    {
        var files = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "test"), "*", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(f) && Path.GetExtension(f) is ".cs" or ".mjs" or ".js" or ".sh" or ".json" or ".csproj")
            .Concat(Directory.EnumerateFiles(RepoPaths.Root, "*.sh"))
            .Append(Path.Combine(RepoPaths.Root, ".ci", "run"))
            .Where(f => !f.EndsWith(nameof(SelfContainedRepositoryTests) + ".cs", StringComparison.Ordinal))
            .ToList();

        Assert.True(files.Count > 50, $"{files.Count} files");
        var offending = files
            .SelectMany(f => OutsidePaths.Where(p => File.ReadAllText(f).Contains(p, StringComparison.Ordinal)).Select(p => $"{Path.GetRelativePath(RepoPaths.Root, f)}: {p}"))
            .ToList();
        Assert.True(offending.Count == 0, string.Join('\n', offending));
    }

    [Fact]
    public void The_captures_the_tests_use_are_in_the_repository_with_their_chunk_maps()
    {
        Assert.StartsWith(RepoPaths.Root, Path.GetFullPath(RepoPaths.Media), StringComparison.Ordinal);
        var captures = Directory.EnumerateFiles(RepoPaths.Media, "stream.*", SearchOption.AllDirectories).ToList();

        Assert.True(captures.Count >= 16, $"{captures.Count} captures");
        Assert.All(captures, c => Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(c)!, "chunks.json")), $"{c} has no chunks.json"));
        Assert.True(File.Exists(Path.Combine(RepoPaths.Media, "README.md")));
    }

    // node_modules holds third-party packages that `npm ci` installs (test/load-ws), not the repository's own files.
    private static bool IsBuildOutput(string path) =>
        path.Contains($"{Path.DirectorySeparatorChar}node_modules{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}artifacts{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
}
