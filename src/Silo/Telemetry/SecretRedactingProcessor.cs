using System.Diagnostics;
using LiveStream.Media;
using OpenTelemetry;

namespace LiveStream.Telemetry;

/// <summary>Masks stream keys (ingest paths, RTMP URLs) in every span's name and string attributes before export.</summary>
public sealed class SecretRedactingProcessor : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        data.DisplayName = SecretRedactor.Redact(data.DisplayName);
        foreach (var tag in data.TagObjects.ToArray())
        {
            if (tag.Value is string text)
            {
                var redacted = SecretRedactor.Redact(text);
                if (!ReferenceEquals(redacted, text) && redacted != text)
                {
                    data.SetTag(tag.Key, redacted);
                }
            }
        }
    }
}
