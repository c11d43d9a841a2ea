using System.Buffers;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;

namespace LiveStream.Ingest;

/// <summary>
/// Writes a <see cref="ChunkPayload"/> as length-prefixed bytes (the wire format of a byte array) and reads it into a
/// rented array, so a silo receiving chunks allocates no array per chunk.
/// </summary>
[RegisterSerializer]
internal sealed class ChunkPayloadCodec : IFieldCodec<ChunkPayload>
{
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, ChunkPayload? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return;
        }

        writer.WriteFieldHeader(fieldIdDelta, expectedType, typeof(ChunkPayload), WireType.LengthPrefixed);
        // Not null here: a null is written as a reference field above.
        writer.WriteVarUInt32((uint)value!.Length);
        writer.Write(value.Memory.Span);
    }

    public ChunkPayload? ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<ChunkPayload, TInput>(ref reader, field);
        }

        field.EnsureWireType(WireType.LengthPrefixed);
        var length = reader.ReadVarUInt32();
        if (length > int.MaxValue)
        {
            throw new InvalidDataException($"A chunk payload of {length} bytes is over the largest array.");
        }

        var payload = ChunkPayload.Rent((int)length, out var fill);
        reader.ReadBytes(fill);
        ReferenceCodec.RecordObject(reader.Session, payload);
        return payload;
    }
}

/// <summary>A payload is immutable: a local call passes the same one (and its memory) through.</summary>
[RegisterCopier]
internal sealed class ChunkPayloadCopier : IDeepCopier<ChunkPayload>
{
    public ChunkPayload? DeepCopy(ChunkPayload? input, CopyContext context) => input;
}
