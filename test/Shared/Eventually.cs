namespace LiveStream.Testing;

/// <summary>Polls a condition until it holds or a deadline passes: tests wait on state, never sleep a fixed time.</summary>
public static class Eventually
{
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        do
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; last value: {last}");
    }

    public static Task HoldsAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        ReturnsAsync(() => Task.FromResult(condition()), ok => ok, timeout, what);
}
