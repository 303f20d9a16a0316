using Mlops.Data.Profiling;
using Mlops.Data.Schema;
using Mlops.Data.Tabular;
using Mlops.Data.Validation;
using Xunit;

namespace Mlops.Data.Tests.Validation;

public class DataValidatorTests
{
    private static readonly ValidationOptions Options = ValidationOptions.Default;

    private static (DataTable Table, DataProfile Profile, DatasetSchema Schema) Reference(int rows = 2000, int seed = 1)
    {
        var t = TestData.Table(rows, seed);
        var p = DataProfiler.Profile(t, "target");
        return (t, p, SchemaInference.Infer(p, Options));
    }

    private static ValidationReport Check(
        DataTable current,
        (DataTable Table, DataProfile Profile, DatasetSchema Schema) reference,
        ValidationOptions? o = null
    ) =>
        DataValidator.Validate(
            current,
            DataProfiler.Profile(current, "target"),
            reference.Schema,
            reference.Table,
            reference.Profile,
            o ?? Options,
            "target"
        );

    [Fact]
    public void Validate_SameDistribution_Accepted()
    {
        var r = Check(TestData.Table(2000, seed: 2), Reference());
        Assert.Equal(ValidationOutcome.Accepted, r.Outcome);
        Assert.Equal(4, r.Drift.Count); // drift computed and stored for every column, not only when crossed
        Assert.All(r.Drift, d => Assert.False(d.Drifted));
    }

    [Fact]
    public void Validate_LabelBalance5050To7030_LabelShiftError()
    {
        var r = Check(TestData.Table(2000, seed: 2, positiveShare: 0.7), Reference());
        Assert.Equal(ValidationOutcome.Quarantined, r.Outcome);
        var a = Assert.Single(r.Anomalies, a => a.Code == AnomalyCodes.LabelShift);
        Assert.Equal(Severity.Error, a.Severity);
        Assert.Equal(0.2, a.Value!.Value, 9);
        Assert.Equal(0.2, r.LabelShift!.LInfinity, 9);
    }

    [Fact]
    public void Validate_DroppedColumn_ColumnMissingError()
    {
        var r = Check(TestData.Table(2000, seed: 2, withColor: false), Reference());
        Assert.Equal(ValidationOutcome.Quarantined, r.Outcome);
        Assert.Contains(r.Anomalies, a =>
            a.Code == AnomalyCodes.ColumnMissing && a.Column == "color" && a.Severity == Severity.Error
        );
    }

    [Fact]
    public void Validate_ExtraColumn_Warning()
    {
        var t = TestData.Table(200, seed: 2);
        var cur = new DataTable([.. t.Columns, Column.Numeric("extra", new double[200])]);
        var r = Check(cur, Reference(200));
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.ColumnExtra && a.Severity == Severity.Warning);
        Assert.Equal(ValidationOutcome.Warning, r.Outcome);
    }

    [Fact]
    public void Validate_TypeChange_Error()
    {
        var t = TestData.Table(200, seed: 2);
        var ageText = t["age"].Numbers!.Select(v => (string?)("x" + v)).ToArray();
        var cur = new DataTable(
            t.Columns.Select(c => c.Name == "age" ? Column.Categorical("age", ageText) : c).ToList()
        );
        var r = Check(cur, Reference(200));
        Assert.Contains(r.Anomalies, a =>
            a.Code == AnomalyCodes.TypeChanged && a.Column == "age" && a.Severity == Severity.Error
        );
    }

    [Fact]
    public void Validate_ValuesOutOfRange_ErrorWithShare()
    {
        var t = TestData.Table(1000, seed: 2);
        var age = t["age"].Numbers!.Select((v, i) => i < 80 ? 500 : v).ToArray(); // 8% far above the range
        var cur = new DataTable(t.Columns.Select(c => c.Name == "age" ? Column.Numeric("age", age) : c).ToList());
        var r = Check(cur, Reference(1000));
        var a = Assert.Single(r.Anomalies, a => a.Code == AnomalyCodes.OutOfRange);
        Assert.Equal(Severity.Error, a.Severity);
        Assert.InRange(a.Value!.Value, 0.08, 0.082); // the 80 planted values, plus at most a natural tail value
    }

    [Fact]
    public void Validate_UnseenCategories_ErrorAboveShare_WarningBelow()
    {
        var t = TestData.Table(1000, seed: 2);
        DataTable WithPurple(int n) =>
            new(
                t.Columns.Select(c =>
                        c.Name == "color"
                            ? Column.Categorical("color", c.Strings!.Select((v, i) => i < n ? "purple" : v).ToArray())
                            : c
                    )
                    .ToList()
            );
        var many = Check(WithPurple(100), Reference(1000));
        Assert.Contains(many.Anomalies, a =>
            a.Code == AnomalyCodes.UnseenCategories && a.Severity == Severity.Error && a.Message.Contains("purple")
        );
        var few = Check(WithPurple(5), Reference(1000));
        Assert.Contains(few.Anomalies, a => a.Code == AnomalyCodes.UnseenCategories && a.Severity == Severity.Warning);
    }

    [Fact]
    public void Validate_MissingRateJump_ExceededAndJump()
    {
        var t = TestData.Table(1000, seed: 2);
        var income = t["income"].Numbers!.Select((v, i) => i % 2 == 0 ? double.NaN : v).ToArray(); // 50% missing
        var cur = new DataTable(
            t.Columns.Select(c => c.Name == "income" ? Column.Numeric("income", income) : c).ToList()
        );
        var r = Check(cur, Reference(1000));
        Assert.Contains(r.Anomalies, a =>
            a.Code == AnomalyCodes.MissingRateExceeded && a.Column == "income" && a.Severity == Severity.Error
        );
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.MissingRateJump && a.Column == "income");
    }

    [Fact]
    public void Validate_DuplicateRows_Warning()
    {
        var t = TestData.Table(1000, seed: 2);
        var rows = Enumerable.Range(0, 1000).Select(i => i < 200 ? 0 : i).ToList();
        var r = Check(t.SelectRows(rows), Reference(1000));
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.DuplicateRows && a.Severity == Severity.Warning);
    }

    [Fact]
    public void Validate_ConstantColumn_Warning()
    {
        var t = TestData.Table(500, seed: 2);
        var cur = new DataTable(
            t.Columns.Select(c =>
                    c.Name == "income" ? Column.Numeric("income", Enumerable.Repeat(50_000.0, 500).ToArray()) : c
                )
                .ToList()
        );
        var r = Check(cur, Reference(500));
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.ConstantColumn && a.Column == "income");
    }

    [Fact]
    public void Validate_LabelColumnMissing_Error()
    {
        var cur = TestData.Table(500, seed: 2).Without("target");
        var r = Check(cur, Reference(500));
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.LabelMissing && a.Severity == Severity.Error);
        Assert.DoesNotContain(r.Anomalies, a => a.Code == AnomalyCodes.ColumnMissing && a.Column == "target");
    }

    [Fact]
    public void Validate_LabelValuesMissingAndUnseenClass_Errors()
    {
        var t = TestData.Table(500, seed: 2);
        var target = t["target"]
            .Numbers!.Select(
                (v, i) =>
                    i == 0 ? double.NaN
                    : i == 1 ? 2
                    : v
            )
            .ToArray();
        var cur = new DataTable(
            t.Columns.Select(c => c.Name == "target" ? Column.Numeric("target", target) : c).ToList()
        );
        var r = Check(cur, Reference(500));
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.LabelValuesMissing);
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.LabelUnseenClass && a.Message.Contains("'2'"));
    }

    [Fact]
    public void Validate_SmallReference_UsesKsAndDetectsShift()
    {
        var r = Check(TestData.Table(500, seed: 2, ageShift: 5), Reference(500));
        var age = r.Drift.Single(d => d.Column == "age");
        Assert.Equal(DriftMethod.KolmogorovSmirnov, age.Method);
        Assert.True(age.Drifted);
        Assert.Equal(DriftMethod.ChiSquare, r.Drift.Single(d => d.Column == "color").Method);
        Assert.Equal(DriftMethod.ZTest, r.Drift.Single(d => d.Column == "target").Method);
        var a = Assert.Single(r.Anomalies, a => a.Code == AnomalyCodes.FeatureDrift);
        Assert.Equal("age", a.Column);
        Assert.Equal(Severity.Warning, a.Severity);
    }

    [Fact]
    public void Validate_LargeReference_UsesWassersteinAndJensenShannon()
    {
        var r = Check(TestData.Table(3000, seed: 2, ageShift: 5), Reference(3000));
        var age = r.Drift.Single(d => d.Column == "age");
        Assert.Equal(DriftMethod.Wasserstein, age.Method);
        Assert.True(age.Drifted); // shift of half a standard deviation
        Assert.InRange(age.Statistic, 0.4, 0.6);
        Assert.Equal(DriftMethod.JensenShannon, r.Drift.Single(d => d.Column == "color").Method);
        Assert.False(r.Drift.Single(d => d.Column == "income").Drifted);
    }

    [Fact]
    public void Validate_PerColumnPsiWithErrorSeverity_Quarantines()
    {
        var o = ValidationOptions.FromJson(
            """{"drift":{"columns":{"age":{"method":"psi","threshold":0.2,"severity":"error"}}}}"""
        );
        var r = Check(TestData.Table(3000, seed: 2, ageShift: 8), Reference(3000), o);
        var age = r.Drift.Single(d => d.Column == "age");
        Assert.Equal(DriftMethod.Psi, age.Method);
        Assert.Equal(0.2, age.Threshold);
        Assert.Equal(ValidationOutcome.Quarantined, r.Outcome);
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.FeatureDrift && a.Severity == Severity.Error);
    }

    [Fact]
    public void Validate_TinySample_InsufficientDataNotDrift()
    {
        var r = Check(TestData.Table(10, seed: 2, ageShift: 30), Reference(10));
        Assert.All(r.Drift, d => Assert.True(d.InsufficientData));
        Assert.All(r.Drift, d => Assert.False(d.Drifted));
        Assert.Contains(r.Anomalies, a => a.Code == AnomalyCodes.InsufficientData && a.Severity == Severity.Info);
        Assert.DoesNotContain(r.Anomalies, a => a.Code == AnomalyCodes.FeatureDrift);
    }

    [Fact]
    public void Validate_EmptyTable_EmptyError()
    {
        var empty = TestData.Table(0);
        var r = DataValidator.Validate(empty, DataProfiler.Profile(empty), Reference(100).Schema, null, null);
        Assert.Equal(AnomalyCodes.Empty, Assert.Single(r.Anomalies).Code);
        Assert.Equal(ValidationOutcome.Quarantined, r.Outcome);
    }

    [Fact]
    public void Validate_SeverityOverride_TurnsWarningOffOrIntoError()
    {
        var t = TestData.Table(200, seed: 2);
        var cur = new DataTable([.. t.Columns, Column.Numeric("extra", new double[200])]);
        var off = Check(
            cur,
            Reference(200),
            new ValidationOptions { Severities = new() { ["column_extra"] = Severity.Off } }
        );
        Assert.DoesNotContain(off.Anomalies, a => a.Code == AnomalyCodes.ColumnExtra);
        var err = Check(
            cur,
            Reference(200),
            new ValidationOptions { Severities = new() { ["column_extra"] = Severity.Error } }
        );
        Assert.Equal(ValidationOutcome.Quarantined, err.Outcome);
    }

    [Fact]
    public void Validate_UserRelaxedSchema_IsHonoured()
    {
        var reference = Reference(1000);
        var relaxed = reference.Schema with
        {
            Columns = reference
                .Schema.Columns.Select(c => c.Name == "color" ? c with { Categories = null } : c)
                .ToList(),
        };
        var t = TestData.Table(1000, seed: 2);
        var cur = new DataTable(
            t.Columns.Select(c =>
                    c.Name == "color"
                        ? Column.Categorical("color", c.Strings!.Select((v, i) => i < 100 ? "purple" : v).ToArray())
                        : c
                )
                .ToList()
        );
        var r = DataValidator.Validate(
            cur,
            DataProfiler.Profile(cur, "target"),
            relaxed,
            null,
            reference.Profile,
            Options,
            "target"
        );
        Assert.DoesNotContain(r.Anomalies, a => a.Code == AnomalyCodes.UnseenCategories);
    }

    [Fact]
    public void ToSummary_NamesVerdictAndErrors()
    {
        var r = Check(TestData.Table(2000, seed: 2, positiveShare: 0.7), Reference()) with
        {
            Dataset = "churn",
            Hash = new string('a', 64),
        };
        var s = r.ToSummary();
        Assert.Contains("QUARANTINED", s);
        Assert.Contains("label_shift", s);
        Assert.Contains("churn", s);
    }
}
