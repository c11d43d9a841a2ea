using LiveStream.Ingest;
using System.Security.Cryptography;
using LiveStream.Sessions;
using Microsoft.Extensions.Logging;

namespace LiveStream.Streams;

/// <summary>A stream's keys (hashes only): matching in constant time, rotation, and what a closed epoch is told.</summary>
internal static partial class StreamKeys
{
    public enum KeyMatch
    {
        None,
        Current,
        Retired,
    }

    public static KeyMatch Match(IPersistentState<StreamRecord> state, byte[] keyHash)
    {
        if (!state.RecordExists)
        {
            return KeyMatch.None;
        }

        if (CryptographicOperations.FixedTimeEquals(keyHash, state.State.KeyHash))
        {
            return KeyMatch.Current;
        }

        // Every retired hash is compared, so the time taken does not tell which one matched.
        var retired = false;
        foreach (var old in state.State.RetiredKeyHashes)
        {
            retired |= CryptographicOperations.FixedTimeEquals(keyHash, old);
        }

        return retired ? KeyMatch.Retired : KeyMatch.None;
    }

    /// <summary>
    /// Makes <paramref name="newKeyHash"/> the stream's key. The old one keeps working only for the publisher of the
    /// session live now (<paramref name="liveSessionId"/>), to reconnect to it; without one it is removed at once.
    /// </summary>
    public static async Task RotateAsync(IStreamDirectoryGrain directory, string streamId, StreamRecord record, byte[] newKeyHash, string? liveSessionId)
    {
        await directory.AddKeyAsync(streamId, newKeyHash);
        if (liveSessionId is null || liveSessionId != record.RetiredKeysSessionId)
        {
            await ForgetRetiredAsync(directory, streamId, record);
        }

        if (liveSessionId is not null)
        {
            record.RetiredKeyHashes.Add(record.KeyHash);
            record.RetiredKeysSessionId = liveSessionId;
        }
        else
        {
            await directory.RemoveKeyAsync(streamId, record.KeyHash);
        }

        record.KeyHash = newKeyHash;
    }

    /// <summary>The session the rotated-away keys belonged to ended: they are refused from now on, and leave the directory.</summary>
    public static void ForgetRetiredLater(IStreamDirectoryGrain directory, string streamId, StreamRecord record, ILogger logger)
    {
        if (record.RetiredKeyHashes.Count == 0)
        {
            return;
        }

        var retired = record.RetiredKeyHashes.ToList();
        record.RetiredKeyHashes.Clear();
        record.RetiredKeysSessionId = null;
        RemoveAsync(directory, streamId, retired, logger).Ignore();
    }

    /// <summary>What a write of a closed (older or ended) epoch is told.</summary>
    public static WriteResult Closed(IPersistentState<StreamRecord> state, LiveSession? live, int epoch)
    {
        if (live is not null && epoch < live.Record.ConnectionEpoch)
        {
            return new WriteResult(WriteOutcome.Closed, live.Durable, CloseCodes.Superseded, "superseded by a newer publisher");
        }

        if (!state.RecordExists)
        {
            return new WriteResult(WriteOutcome.Closed, 0, CloseCodes.EndedByOperator, "stream deleted");
        }

        var ended = state.State.Sessions.FindLast(s => s.ConnectionEpoch >= epoch);
        return ended switch
        {
            { CloseCode: CloseCodes.EndedByOperator } => new WriteResult(WriteOutcome.Closed, ended.BytesIngested, CloseCodes.EndedByOperator, ended.EndReason ?? "stopped by the operator"),
            { State: SessionState.Failed } => new WriteResult(WriteOutcome.Closed, ended.BytesIngested, CloseCodes.SessionFailed, ended.EndReason ?? "session failed"),
            { ConnectionEpoch: var e } when e > epoch => new WriteResult(WriteOutcome.Closed, 0, CloseCodes.Superseded, "superseded by a newer publisher"),
            _ => new WriteResult(WriteOutcome.Closed, ended?.BytesIngested ?? 0, CloseCodes.Normal, "session ended"),
        };
    }

    private static async Task ForgetRetiredAsync(IStreamDirectoryGrain directory, string streamId, StreamRecord record)
    {
        foreach (var old in record.RetiredKeyHashes)
        {
            await directory.RemoveKeyAsync(streamId, old);
        }

        record.RetiredKeyHashes.Clear();
        record.RetiredKeysSessionId = null;
    }

    private static async Task RemoveAsync(IStreamDirectoryGrain directory, string streamId, List<byte[]> retired, ILogger logger)
    {
        try
        {
            foreach (var old in retired)
            {
                await directory.RemoveKeyAsync(streamId, old);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The keys are refused here anyway (no session of theirs is live); the directory entry is only a lookup.
            LogRetiredKeysNotRemoved(logger, ex, streamId);
        }
    }

    [LoggerMessage(EventId = 2019, Level = LogLevel.Warning, Message = "Stream {StreamId}: rotated-away keys could not be removed from the directory; they are refused all the same")]
    private static partial void LogRetiredKeysNotRemoved(ILogger logger, Exception exception, string streamId);
}
