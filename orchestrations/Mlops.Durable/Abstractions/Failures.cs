namespace Mlops.Durable;

/// <summary>Why a task or orchestration failed: the exception type name, its message and stack trace.</summary>
/// <param name="ErrorType">Full name of the exception type.</param>
/// <param name="ErrorMessage">Exception message.</param>
/// <param name="StackTrace">Stack trace at the point of failure, when known.</param>
/// <param name="InnerFailure">The inner exception, if any.</param>
public sealed record FailureDetails(string ErrorType, string ErrorMessage, string? StackTrace = null, FailureDetails? InnerFailure = null)
{
    /// <summary>Captures an exception (unwrapping <see cref="AggregateException"/> with one inner exception).</summary>
    public static FailureDetails FromException(Exception ex)
    {
        if (ex is AggregateException { InnerExceptions.Count: 1 } agg) ex = agg.InnerExceptions[0];
        if (ex is TaskFailedException tfe)
            return new FailureDetails(tfe.GetType().FullName!, tfe.Message, tfe.StackTrace, tfe.FailureDetails);
        return new FailureDetails(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex.StackTrace,
            ex.InnerException is null ? null : FromException(ex.InnerException));
    }

    /// <summary>True if this failure (or an inner one) was caused by an exception of type <typeparamref name="T"/>.</summary>
    public bool IsCausedBy<T>() where T : Exception =>
        ErrorType == typeof(T).FullName || (InnerFailure?.IsCausedBy<T>() ?? false);

    /// <inheritdoc />
    public override string ToString() => $"{ErrorType}: {ErrorMessage}";
}

/// <summary>Thrown inside an orchestrator when an activity or sub-orchestration it awaited failed (after all retries).</summary>
public sealed class TaskFailedException : Exception
{
    /// <summary>Creates the exception for task <paramref name="taskName"/> with id <paramref name="taskId"/>.</summary>
    public TaskFailedException(string taskName, int taskId, FailureDetails failureDetails)
        : base($"Task '{taskName}' (#{taskId}) failed: {failureDetails.ErrorType}: {failureDetails.ErrorMessage}")
    {
        TaskName = taskName;
        TaskId = taskId;
        FailureDetails = failureDetails;
    }

    /// <summary>Name of the activity or sub-orchestration.</summary>
    public string TaskName { get; }

    /// <summary>Sequence number of the scheduled task in the orchestration history.</summary>
    public int TaskId { get; }

    /// <summary>The failure reported by the task.</summary>
    public FailureDetails FailureDetails { get; }
}

/// <summary>
/// The orchestrator's code no longer matches its recorded history (e.g. a redeploy reordered activity calls).
/// The instance is failed with this error instead of being replayed into an inconsistent state.
/// </summary>
public sealed class NonDeterministicOrchestrationException(string message) : Exception(message);

/// <summary>A management operation does not fit the instance's current state (e.g. starting over a running id).</summary>
public sealed class OrchestrationStateException(string message) : InvalidOperationException(message);
