namespace LiveStream.Testing;

/// <summary>Where the repository, the shared media and the built programs are.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The folder holding <c>LiveStream.sln</c>.</summary>
    public static string Root => RootPath.Value;

    /// <summary>The real MediaRecorder captures the repository carries: <c>test/media</c>.</summary>
    public static string Media => Path.Combine(Root, "test", "media");

    /// <summary>The build configuration these tests were built with (Debug or Release).</summary>
    public static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The built dll of a program under <c>src/</c>, e.g. <c>Silo</c> or <c>Gateway</c>.</summary>
    public static string ProgramDll(string project) =>
        Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", $"LiveStream.{project}.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("LiveStream.sln not found above " + AppContext.BaseDirectory);
    }
}
