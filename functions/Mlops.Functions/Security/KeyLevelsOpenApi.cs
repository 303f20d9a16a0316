using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Mlops.Functions.Security;

/// <summary>
/// Documents the two key levels in the OpenAPI document: the security schemes, and on each operation the level that
/// <see cref="FunctionKeyMiddleware.Required"/> demands — the same rule the host enforces, so the document cannot drift.
/// </summary>
public sealed class KeyLevelsOpenApi : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    public const string FunctionScheme = "functionKey";
    public const string AdminScheme = "masterKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[FunctionScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "x-functions-key",
            Description = "A function key (MLOPS_FUNCTION_KEY): predictions, feedback and every read. Also accepted as ?code=.",
        };
        document.Components.SecuritySchemes[AdminScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "x-functions-key",
            Description = "The master (admin) key (MLOPS_MASTER_KEY): everything that changes state — orchestration management, events, promote/rollback/aliases/traffic, approvals, schema edits, pipeline runs.",
        };
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var d = context.Description;
        var level = FunctionKeyMiddleware.Required(d.HttpMethod ?? "GET", "/" + (d.RelativePath ?? "").Split('?')[0]);
        if (level == KeyLevel.None) return Task.CompletedTask;
        string scheme = level == KeyLevel.Admin ? AdminScheme : FunctionScheme;
        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] });
        return Task.CompletedTask;
    }
}
