namespace LiveStream.Gateway.Api;

/// <summary>Refuses admin API calls without the right <c>Authorization: Bearer</c> token (401).</summary>
internal sealed class AdminAuthFilter(AdminToken token) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!token.Matches(http.Request.Headers.Authorization))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Missing or wrong admin token", detail: "Send Authorization: Bearer <LiveStream:AdminToken>.");
        }

        return await next(context);
    }
}
