using LiveStream.Streams;

namespace LiveStream.Gateway.Api;

/// <summary>
/// Checks outputs at the API. Only <c>rtmp</c> and <c>rtmps</c> URLs with a host reach FFmpeg: anything else
/// (local files, <c>pipe:</c>, <c>concat:</c>, http, option-like text) would turn the ingest into an open relay.
/// </summary>
public static class OutputValidation
{
    /// <summary>The outputs as specs, or the errors found (each names its field).</summary>
    public static (IReadOnlyList<OutputSpec> Outputs, IReadOnlyList<string> Errors) Parse(IReadOnlyList<OutputRequest>? requested)
    {
        if (requested is null || requested.Count == 0)
        {
            return ([new OutputSpec(OutputType.Hls)], []);
        }

        var outputs = new List<OutputSpec>();
        var errors = new List<string>();
        for (var i = 0; i < requested.Count; i++)
        {
            var output = requested[i];
            switch (output?.Type?.ToLowerInvariant())
            {
                case "hls":
                    outputs.Add(new OutputSpec(OutputType.Hls, Record: output.Record ?? false));
                    break;
                case "archive":
                    outputs.Add(new OutputSpec(OutputType.Archive));
                    break;
                case "null":
                    outputs.Add(new OutputSpec(OutputType.Null));
                    break;
                case "rtmp":
                    if (IsRtmpUrl(output.Url))
                    {
                        outputs.Add(new OutputSpec(OutputType.Rtmp, output.Url));
                    }
                    else
                    {
                        errors.Add($"outputs[{i}].url must be an rtmp:// or rtmps:// URL with a host.");
                    }

                    break;
                default:
                    errors.Add($"outputs[{i}].type must be one of hls, rtmp, archive, null.");
                    break;
            }

            if (output?.Record is not null && !string.Equals(output.Type, "hls", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"outputs[{i}].record applies to hls outputs only.");
            }
        }

        if (outputs.Count(o => o.Type == OutputType.Hls) > 1 || outputs.Count(o => o.Type == OutputType.Archive) > 1)
        {
            errors.Add("outputs may hold at most one hls and one archive output.");
        }

        if (outputs.Count > 16)
        {
            errors.Add("outputs may hold at most 16 entries.");
        }

        return (outputs, errors);
    }

    /// <summary>True for an absolute rtmp/rtmps URL with a host and no whitespace or control characters.</summary>
    public static bool IsRtmpUrl(string? url)
    {
        if (string.IsNullOrEmpty(url) || url.Length > 2048 || url.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && (uri.Scheme == "rtmp" || uri.Scheme == "rtmps")
            && !string.IsNullOrEmpty(uri.Host)
            && !uri.Host.StartsWith('-');
    }
}
