namespace LiveStream.Leases;

/// <summary>The lease store could not be reached or did not answer: nobody can prove who holds a lease right now.</summary>
public sealed class LeaseStoreUnavailableException : Exception
{
    public LeaseStoreUnavailableException()
    {
    }

    public LeaseStoreUnavailableException(string message)
        : base(message)
    {
    }

    public LeaseStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
