namespace LiveStream.Gateway.Tests;

/// <summary>The gateway is stateless and depends on contracts: it never uses a type of the grains' project.</summary>
public sealed class GatewayDependencyTests
{
    [Fact]
    public void Gateway_code_uses_no_type_from_the_grains_project()
    {
        // The compiler records a reference to an assembly only when code uses one of its types (a method signature,
        // a field, a base type, a call), so an unused transitive reference through the silo project leaves none.
        var gateway = typeof(Hosting.GatewayHostingExtensions).Assembly;

        var referenced = gateway.GetReferencedAssemblies().Select(a => a.Name).ToList();

        Assert.Contains("LiveStream.Abstractions", referenced);
        Assert.DoesNotContain("LiveStream.Grains", referenced);
    }
}
