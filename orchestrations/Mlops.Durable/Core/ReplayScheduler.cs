namespace Mlops.Durable.Core;

/// <summary>
/// Single-threaded scheduler on which orchestrator code runs. Continuations are queued instead of run on the thread
/// pool, and the replay loop drains the queue after each history event, so orchestrator code advances exactly as far
/// as the events applied so far allow, in the same order on every replay.
/// </summary>
internal sealed class ReplayScheduler : TaskScheduler
{
    private readonly Queue<Task> queue = new();

    protected override void QueueTask(Task task)
    {
        lock (queue) queue.Enqueue(task);
    }

    // Never inline: everything runs from RunPending so ordering is decided by the queue alone.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (queue) return queue.ToArray();
    }

    public override int MaximumConcurrencyLevel => 1;

    /// <summary>Runs queued work until none is left.</summary>
    public void RunPending()
    {
        while (true)
        {
            Task? next;
            lock (queue) { if (!queue.TryDequeue(out next)) return; }
            TryExecuteTask(next);
        }
    }
}
