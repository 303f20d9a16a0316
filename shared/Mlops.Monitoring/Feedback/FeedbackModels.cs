namespace Mlops.Monitoring.Feedback;

/// <summary>One label of a feedback batch, as posted: <c>{"predictionId": "...", "label": ...}</c>.</summary>
/// <param name="PredictionId">Id returned by the predict call (or sent by the client in <c>ids</c>).</param>
/// <param name="Label">The ground truth, as text (numbers in their JSON form).</param>
public sealed record FeedbackLabel(string PredictionId, string Label);

/// <summary>What happened to a feedback batch.</summary>
/// <param name="Model">Model name.</param>
/// <param name="BatchId">Content hash of the batch (re-sending the same batch is harmless).</param>
/// <param name="Received">Labels in the request.</param>
/// <param name="Accepted">Labels stored.</param>
/// <param name="Duplicates">Labels that repeated an id earlier in the batch (the later one is kept).</param>
/// <param name="Unknown">Server ids outside the lookback (too old, or in the future): not stored.</param>
/// <param name="Invalid">Entries without a usable id or label: not stored.</param>
/// <param name="Problems">The first few problems, one sentence each.</param>
public sealed record FeedbackReceipt(string Model, string BatchId, int Received, int Accepted, int Duplicates, int Unknown, int Invalid, IReadOnlyList<string> Problems);
