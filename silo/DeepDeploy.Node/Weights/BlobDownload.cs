namespace DeepDeploy.Node.Weights;

/// <summary>
/// One blob's download for the <see cref="WeightsCache"/>, shared by the instances that want it meanwhile and cancelled
/// when none does any more. Its partial file does not outlive a failure or a cancellation. <see cref="Waiters"/> and
/// <see cref="Leave"/>: under the cache's lock.
/// </summary>
internal sealed class BlobDownload : IProgress<long>
{
    readonly CancellationTokenSource _cancel = new();
    long _done;

    /// <param name="previous">A cancelled or failed download of the same blob still cleaning up: it goes first, so that it
    /// deletes its own partial file only.</param>
    /// <param name="fetched">Told the blob's size once it is complete.</param>
    /// <param name="ended">Told when the download ended, however it ended.</param>
    public BlobDownload(HuggingFaceClient client, string repo, string commit, string file, string? token, string blob, long size,
        Task? previous, Action<long> fetched, Action<BlobDownload> ended)
    {
        Blob = blob;
        Size = size;
        Task = Task.Run(async () =>
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
                if (previous is not null)
                {
                    await previous.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                }

                _cancel.Token.ThrowIfCancellationRequested();
                await client.DownloadFileAsync(repo, commit, file, token, blob, this, _cancel.Token);
                fetched(size);
            }
            catch
            {
                File.Delete(blob + CacheLayout.Partial);
                throw;
            }
            finally
            {
                ended(this);
            }
        });
    }

    public string Blob { get; }

    public Task Task { get; }

    public long Size { get; }

    public long Done => Interlocked.Read(ref _done);

    public int Waiters { get; set; }

    public bool Cancelled => _cancel.IsCancellationRequested;

    public void Report(long value) => Interlocked.Exchange(ref _done, value);

    /// <summary>One waiter fewer; the last one to leave an unfinished download cancels it.</summary>
    public void Leave()
    {
        if (--Waiters == 0 && !Task.IsCompleted)
        {
            _cancel.Cancel();
        }
    }
}
