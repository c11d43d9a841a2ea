using LiveStream.Webhooks;
using Microsoft.Extensions.Options;

namespace LiveStream.Options;

/// <summary>Validates <see cref="WebhookOptions"/>; each message names the configuration key. The ranges include Polly's own.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    private static readonly TimeSpan OneDay = TimeSpan.FromDays(1);

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

        if (options.AttemptTimeout < TimeSpan.FromMilliseconds(10) || options.AttemptTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("LiveStream:Webhooks:AttemptTimeout must be between 10 ms and 5 minutes.");
        }

        if (options.FirstRetryDelay <= TimeSpan.Zero || options.FirstRetryDelay > OneDay)
        {
            errors.Add("LiveStream:Webhooks:FirstRetryDelay must be positive and at most 1 day.");
        }

        if (options.MaxRetryDelay < options.FirstRetryDelay || options.MaxRetryDelay > OneDay)
        {
            errors.Add("LiveStream:Webhooks:MaxRetryDelay must be at least LiveStream:Webhooks:FirstRetryDelay and at most 1 day.");
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            errors.Add("LiveStream:Webhooks:MaxAttempts must be between 1 and 100.");
        }

        if (options.RetryFor < options.AttemptTimeout || options.RetryFor > OneDay)
        {
            errors.Add("LiveStream:Webhooks:RetryFor must be at least LiveStream:Webhooks:AttemptTimeout and at most 1 day.");
        }

        if (options.QueueCapacity is < 1 or > 1_000_000)
        {
            errors.Add("LiveStream:Webhooks:QueueCapacity must be between 1 and 1000000.");
        }

        if (options.MaxConcurrentDeliveries is < 1 or > 1000)
        {
            errors.Add("LiveStream:Webhooks:MaxConcurrentDeliveries must be between 1 and 1000.");
        }

        if (options.MaxConcurrentPerReceiver < 1 || options.MaxConcurrentPerReceiver > options.MaxConcurrentDeliveries)
        {
            errors.Add("LiveStream:Webhooks:MaxConcurrentPerReceiver must be between 1 and LiveStream:Webhooks:MaxConcurrentDeliveries.");
        }

        if (!(options.CircuitFailureRatio is > 0 and <= 1))
        {
            errors.Add("LiveStream:Webhooks:CircuitFailureRatio must be above 0 and at most 1.");
        }

        if (options.CircuitMinimumThroughput is < 2 or > 10_000)
        {
            errors.Add("LiveStream:Webhooks:CircuitMinimumThroughput must be between 2 and 10000.");
        }

        if (options.CircuitSamplingDuration < TimeSpan.FromMilliseconds(500) || options.CircuitSamplingDuration > OneDay)
        {
            errors.Add("LiveStream:Webhooks:CircuitSamplingDuration must be between 500 ms and 1 day.");
        }

        if (options.CircuitBreakDuration < TimeSpan.FromMilliseconds(500) || options.CircuitBreakDuration > OneDay)
        {
            errors.Add("LiveStream:Webhooks:CircuitBreakDuration must be between 500 ms and 1 day.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
