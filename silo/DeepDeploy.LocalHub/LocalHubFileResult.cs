using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace DeepDeploy.LocalHub;

/// <summary>A file download that misbehaves on purpose (tests): from the asked range (<c>bytes=N-</c>), cut after
/// <paramref name="cut"/> bytes (the connection drops), sent at <paramref name="bytesPerSecond"/>, or followed by
/// <paramref name="extraBytes"/> bytes more than the size reported (then without a Content-Length).</summary>
internal sealed class LocalHubFileResult(string path, long size, string etag, long? cut, long? bytesPerSecond, long extraBytes) : IResult
{
    /// <summary>Throttled bytes go out in this many slices a second.</summary>
    const int SlicesPerSecond = 10;

    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        long start = 0;
        var range = context.Request.Headers.Range.ToString();
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-')
            && long.TryParse(range[6..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var from) && from < size)
        {
            start = from;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers[HeaderNames.ContentRange] = $"bytes {start}-{size - 1}/{size}";
        }

        response.Headers[HeaderNames.ETag] = etag;
        response.ContentType = "application/octet-stream";
        if (extraBytes == 0)
        {
            response.ContentLength = size - start;
        }

        var slice = bytesPerSecond is { } rate ? (int)Math.Clamp(rate / SlicesPerSecond, 1, 1 << 20) : 1 << 20;
        var buffer = new byte[slice];
        var left = Math.Min(cut ?? long.MaxValue, size - start + extraBytes);
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            stream.Position = start;
            while (left > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), aborted);
                if (read == 0)
                {
                    // Past the end: the extra bytes a lying hub sends.
                    read = (int)Math.Min(buffer.Length, left);
                    Array.Clear(buffer, 0, read);
                }

                await response.Body.WriteAsync(buffer.AsMemory(0, read), aborted);
                await response.Body.FlushAsync(aborted);
                left -= read;
                if (bytesPerSecond is not null)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1.0 / SlicesPerSecond), aborted);
                }
            }
        }

        if (cut is not null && cut < size - start + extraBytes)
        {
            context.Abort();
        }
    }
}
