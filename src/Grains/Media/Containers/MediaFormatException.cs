namespace LiveStream.Media.Containers;

/// <summary>
/// The bytes are not media the reader accepts. The message is a short human reason (under 100 characters, printable
/// ASCII) because it is sent to the publisher as a WebSocket close reason.
/// </summary>
/// <param name="reason">Why the media was refused.</param>
public sealed class MediaFormatException(string reason) : Exception(reason);
