using Mlops.Data.Validation;
using Xunit;

namespace Mlops.Data.Tests.Validation;

public class ValidationOptionsTests
{
    [Fact]
    public void FromMlopsJson_FullSection_Deserialized()
    {
        var o = ValidationOptions.FromMlopsJson(
            """
            { "target": "y", "validation": {
                "labelShiftThreshold": 0.15,
                "drift": { "default": { "method": "auto", "threshold": 0.1, "severity": "warning" },
                           "columns": { "age": { "method": "psi", "threshold": 0.2, "severity": "error" } } },
                "maxMissingRateIncrease": 0.3,
                "severities": { "duplicate_rows": "error" } } }
            """
        );
        Assert.Equal(0.15, o.LabelShiftThreshold);
        Assert.Equal(0.3, o.MaxMissingRateIncrease);
        Assert.Equal(DriftMethod.Psi, o.Drift.For("age").Method);
        Assert.Equal(Severity.Error, o.Drift.For("age").Severity);
        Assert.Equal(DriftMethod.Auto, o.Drift.For("income").Method);
        Assert.Equal(Severity.Error, o.Severities["duplicate_rows"]);
    }

    [Fact]
    public void FromMlopsJson_NoSection_Defaults() =>
        Assert.Equal(0.1, ValidationOptions.FromMlopsJson("""{"target":"y"}""").LabelShiftThreshold);

    [Theory]
    [InlineData("""{"labelShiftThreshold": 1.5}""", "labelShiftThreshold")]
    [InlineData("""{"minRowsForDrift": 0}""", "minRowsForDrift")]
    [InlineData("""{"drift":{"columns":{"age":{"method":"ks","threshold":3}}}}""", "drift.columns.age.threshold")]
    [InlineData("""{"drift":{"default":{"method":"banana"}}}""", "validation section is invalid")]
    [InlineData("""{"labelShiftTreshold": 0.2}""", "labelShiftTreshold")]
    public void FromJson_InvalidValue_DataExceptionNamesSetting(string json, string expected)
    {
        var ex = Assert.Throws<DataException>(() => ValidationOptions.FromJson(json));
        Assert.Equal("data.options", ex.Code);
        Assert.Contains(expected, ex.Message);
    }
}
