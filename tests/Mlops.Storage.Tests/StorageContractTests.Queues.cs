using Mlops.Core.Storage;
using Xunit;

namespace Mlops.Storage.Tests;

/// <summary>Queue promises of <see cref="IQueueStore"/> beyond the basic cycle.</summary>
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task Queue_MissingQueue_DequeuesNothingAndCountsZero()
    {
        string q = Unique("q");
        Assert.Empty(await Storage.Queues.DequeueAsync(q, 5, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await Storage.Queues.CountAsync(q));
    }

    [Fact]
    public async Task Queue_Dequeue_TakesAtMostRequestedAndCapsAt32()
    {
        string q = Unique("q");
        for (int i = 0; i < 40; i++)
            await Storage.Queues.EnqueueAsync(q, "m" + i);
        Assert.Equal(3, (await Storage.Queues.DequeueAsync(q, 3, TimeSpan.FromSeconds(30))).Count);
        Assert.Equal(32, (await Storage.Queues.DequeueAsync(q, 100, TimeSpan.FromSeconds(30))).Count);
        Assert.Single(await Storage.Queues.DequeueAsync(q, 0, TimeSpan.FromSeconds(30))); // below 1 means 1
        Assert.Equal(40, await Storage.Queues.CountAsync(q)); // hidden messages still count
    }

    [Fact]
    public async Task Queue_TextRoundTrips_UnicodeAndJson()
    {
        string q = Unique("q");
        const string text = "{\"name\":\"données ✓ 🚀\",\"xml\":\"<a & b>\"}";
        await Storage.Queues.EnqueueAsync(q, text);
        var got = Assert.Single(await Storage.Queues.DequeueAsync(q, 1, TimeSpan.FromSeconds(30)));
        Assert.Equal(text, got.Text);
        Assert.NotNull(got.InsertedOn);
        Assert.False(string.IsNullOrEmpty(got.Id));
    }

    [Fact]
    public async Task Queue_VisibilityTimeoutExpiry_RedeliversWithHigherCount_OldReceiptFails()
    {
        string q = Unique("q");
        await Storage.Queues.EnqueueAsync(q, "job");
        var first = Assert.Single(await Storage.Queues.DequeueAsync(q, 1, TimeSpan.FromSeconds(1)));
        await Task.Delay(TimeSpan.FromMilliseconds(2500)); // the holder "crashed": the message comes back by itself
        var second = Assert.Single(await Storage.Queues.DequeueAsync(q, 1, TimeSpan.FromSeconds(30)));
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.DequeueCount);
        Assert.False(await Storage.Queues.DeleteAsync(q, first)); // the crashed holder's receipt no longer works
        Assert.Null(await Storage.Queues.AbandonAsync(q, first, TimeSpan.Zero));
        Assert.True(await Storage.Queues.DeleteAsync(q, second));
        Assert.Equal(0, await Storage.Queues.CountAsync(q));
    }

    [Fact]
    public async Task Queue_AbandonWithDelay_HidesUntilDelayPasses()
    {
        string q = Unique("q");
        await Storage.Queues.EnqueueAsync(q, "retry-me");
        var got = Assert.Single(await Storage.Queues.DequeueAsync(q, 1, TimeSpan.FromSeconds(30)));
        var abandoned = await Storage.Queues.AbandonAsync(q, got, TimeSpan.FromSeconds(30));
        Assert.NotNull(abandoned);
        Assert.NotEqual(got.PopReceipt, abandoned!.PopReceipt);
        Assert.Empty(await Storage.Queues.DequeueAsync(q, 1, TimeSpan.FromSeconds(30)));
        Assert.False(await Storage.Queues.DeleteAsync(q, got)); // the old receipt was replaced
        Assert.True(await Storage.Queues.DeleteAsync(q, abandoned));
    }
}
