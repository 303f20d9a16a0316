using System.Runtime.CompilerServices;

namespace Mlops.Data.Tabular;

/// <summary>
/// Name → position indexes over column lists, built on first lookup and kept beside the list instance (not in the
/// record that holds it, so record equality and JSON are unchanged). A list that changed length since is re-indexed;
/// the first column of a repeated name wins, as the linear search it replaces did.
/// </summary>
/// <typeparam name="T">Column description.</typeparam>
public static class ColumnIndex<T>
    where T : class
{
    private sealed record Snapshot(int Count, Dictionary<string, int> Positions);

    private static readonly ConditionalWeakTable<IReadOnlyList<T>, Snapshot> Indexes = new();

    /// <summary>The first item of <paramref name="list"/> named <paramref name="name"/>, or null.</summary>
    public static T? Find(IReadOnlyList<T> list, string name, Func<T, string> nameOf)
    {
        ArgumentNullException.ThrowIfNull(list);
        if (!Indexes.TryGetValue(list, out var snapshot) || snapshot.Count != list.Count)
        {
            var positions = new Dictionary<string, int>(list.Count, StringComparer.Ordinal);
            for (int i = 0; i < list.Count; i++)
                positions.TryAdd(nameOf(list[i]), i);
            snapshot = new Snapshot(list.Count, positions);
            Indexes.AddOrUpdate(list, snapshot);
        }
        if (!snapshot.Positions.TryGetValue(name, out int at))
            return null;
        var item = list[at];
        if (nameOf(item) == name)
            return item;
        // An item replaced in place since the index was built: search, and index the list afresh next time.
        Indexes.Remove(list);
        foreach (var c in list)
            if (nameOf(c) == name)
                return c;
        return null;
    }
}
