using Orleans.Storage;

namespace LiveStream.Sessions;

/// <summary>
/// A grain's state in a named grain storage provider, read and written by calling the provider itself: same state
/// name, grain id and ETags as a <c>[PersistentState]</c> of that provider (records written by either are read by the
/// other). For the failover record, written before every acknowledgement: Orleans' own state bridge queues each
/// storage operation and completes it asynchronously even when the provider is done at once (the embedded default
/// keeps the record in memory), and that suspended the whole call chain of every acknowledgement: about a dozen
/// continuations scheduled on the grain per chunk, with their state machines two thirds of the silo's allocation.
/// Here a provider that completes synchronously completes the write synchronously. The owner reads the state when
/// it activates.
/// </summary>
internal sealed class DirectPersistentState<T>(IGrainStorage storage, string stateName, GrainId grainId) : IPersistentState<T>
    where T : new()
{
    private readonly GrainState<T> _state = new(new T());

    public T State
    {
        get => _state.State ??= new T();
        set => _state.State = value;
    }

    public string? Etag => _state.ETag;

    public bool RecordExists => _state.RecordExists;

    public Task ReadStateAsync() => storage.ReadStateAsync(stateName, grainId, _state);

    public Task WriteStateAsync() => storage.WriteStateAsync(stateName, grainId, _state);

    public Task ClearStateAsync() => storage.ClearStateAsync(stateName, grainId, _state);
}
