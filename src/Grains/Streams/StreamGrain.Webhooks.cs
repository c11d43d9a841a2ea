using LiveStream.Webhooks;

namespace LiveStream.Streams;

internal sealed partial class StreamGrain
{
    /// <summary>Reports a lifecycle event to the webhook receivers; only enqueues, so it never holds the turn.</summary>
    private void Emit(string type, string sessionId, string? reason = null, int? closeCode = null, string? output = null) =>
        sessionEvents.Publish(
            SessionEvent.Create(type, time.GetUtcNow(), StreamId, sessionId, reason, closeCode, output),
            state.RecordExists ? state.State.Webhook : null);

    /// <summary>
    /// Reports that <paramref name="output"/> (an output's name, or <c>ffmpeg</c> for the process carrying them
    /// all) failed while the session goes on.
    /// </summary>
    private void EmitOutputFailed(string sessionId, string output, string reason) =>
        Emit(SessionEventTypes.OutputFailed, sessionId, reason, output: output);
}
