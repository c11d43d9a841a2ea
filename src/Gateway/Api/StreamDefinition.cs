using LiveStream.Streams;

namespace LiveStream.Gateway.Api;

/// <summary>
/// A stream definition from a create or update body, checked field by field; every error is reported at once.
/// For an update, a field the body leaves out stays null (unchanged); for a create it gets its default.
/// </summary>
internal sealed record StreamDefinition(
    string? Name,
    IReadOnlyList<OutputSpec>? Outputs,
    int? ReconnectWindowSeconds,
    DuplicatePolicy? DuplicatePolicy,
    IReadOnlyList<string> Errors,
    WebhookSpec? Webhook = null,
    bool RemoveWebhook = false)
{
    private const int MaxNameLength = 200;
    private const int MaxWebhookUrlLength = 2000;
    private const int MaxWebhookSecretLength = 200;

    public static StreamDefinition Parse(CreateStreamRequest? body, bool update)
    {
        var errors = new List<string>();
        IReadOnlyList<OutputSpec>? outputs = null;
        if (!update || body?.Outputs is not null)
        {
            var (parsed, outputErrors) = OutputValidation.Parse(body?.Outputs);
            outputs = parsed;
            errors.AddRange(outputErrors);
        }

        var name = body?.Name?.Trim();
        if (name is { Length: > MaxNameLength })
        {
            errors.Add($"name must be at most {MaxNameLength} characters.");
        }

        var window = body?.ReconnectWindowSeconds ?? (update ? null : StreamSettings.DefaultReconnectWindowSeconds);
        if (window is < 0 or > StreamSettings.MaxReconnectWindowSeconds)
        {
            errors.Add($"reconnectWindowSeconds must be between 0 and {StreamSettings.MaxReconnectWindowSeconds}.");
        }

        DuplicatePolicy? policy = update ? null : Streams.DuplicatePolicy.Takeover;
        if (body?.DuplicatePolicy is { } text)
        {
            if (Enum.TryParse<DuplicatePolicy>(text, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !char.IsAsciiDigit(text.TrimStart().FirstOrDefault()))
            {
                policy = parsed;
            }
            else
            {
                errors.Add("duplicatePolicy must be takeover or reject.");
            }
        }

        var (webhook, removeWebhook) = ParseWebhook(body?.Webhook, errors);
        return new StreamDefinition(name, outputs, window, policy, errors, webhook, removeWebhook);
    }

    /// <summary>A webhook with a URL sets the receiver (a secret is generated when none is given); one without a URL removes it.</summary>
    private static (WebhookSpec? Webhook, bool Remove) ParseWebhook(WebhookRequest? request, List<string> errors)
    {
        if (request is null)
        {
            return (null, false);
        }

        if (string.IsNullOrEmpty(request.Url))
        {
            return (null, true);
        }

        if (request.Url.Length > MaxWebhookUrlLength || !LiveStream.Webhooks.WebhookUrls.IsValid(request.Url))
        {
            errors.Add($"webhook.url must be an absolute http or https URL of at most {MaxWebhookUrlLength} characters.");
        }

        if (request.Secret is { } secret && (secret.Length < LiveStream.Webhooks.WebhookSignature.MinSecretLength || secret.Length > MaxWebhookSecretLength))
        {
            errors.Add($"webhook.secret must be {LiveStream.Webhooks.WebhookSignature.MinSecretLength} to {MaxWebhookSecretLength} characters (or left out to have one generated).");
        }

        return (new WebhookSpec(request.Url, request.Secret ?? LiveStream.Webhooks.WebhookUrls.NewSecret()), false);
    }
}
