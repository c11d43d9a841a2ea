using LiveStream.Webhooks;
using Microsoft.Extensions.Options;

namespace LiveStream.Options;

/// <summary>Validates <see cref="WebhookOptions"/>; each message names the configuration key.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Urls.Count; i++)
        {
            if (!WebhookUrls.IsValid(options.Urls[i]))
            {
                errors.Add($"LiveStream:Webhooks:Urls:{i} must be an absolute http or https URL.");
            }
        }

        if (options.Urls.Count > 0 && options.Secret is not { Length: >= WebhookSignature.MinSecretLength })
        {
            errors.Add($"LiveStream:Webhooks:Secret must be at least {WebhookSignature.MinSecretLength} characters when LiveStream:Webhooks:Urls is set.");
        }

        if (options.AttemptTimeout <= TimeSpan.Zero || options.AttemptTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("LiveStream:Webhooks:AttemptTimeout must be positive and at most 5 minutes.");
        }

        if (options.FirstRetryDelay <= TimeSpan.Zero)
        {
            errors.Add("LiveStream:Webhooks:FirstRetryDelay must be positive.");
        }

        if (options.MaxRetryDelay < options.FirstRetryDelay)
        {
            errors.Add("LiveStream:Webhooks:MaxRetryDelay must be at least LiveStream:Webhooks:FirstRetryDelay.");
        }

        if (options.RetryFor < TimeSpan.Zero || options.RetryFor > TimeSpan.FromDays(3))
        {
            errors.Add("LiveStream:Webhooks:RetryFor must be between 0 and 3 days.");
        }

        if (options.QueueCapacity is < 1 or > 1_000_000)
        {
            errors.Add("LiveStream:Webhooks:QueueCapacity must be between 1 and 1000000.");
        }

        if (options.MaxConcurrentDeliveries is < 1 or > 1000)
        {
            errors.Add("LiveStream:Webhooks:MaxConcurrentDeliveries must be between 1 and 1000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
