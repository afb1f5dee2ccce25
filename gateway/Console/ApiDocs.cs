using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace DeepDeploy.Gateway.WebConsole;

/// <summary>The OpenAPI document behind /docs/: only the public API (every public endpoint has a tag; the dashboard's,
/// the local hub's and the probes' have none), and a Bearer scheme so Swagger UI's Authorize button works.</summary>
public static class ApiDocs
{
    public const string Scheme = "Bearer";

    public static void Configure(OpenApiOptions o)
    {
        o.ShouldInclude = d => d.ActionDescriptor.EndpointMetadata.OfType<ITagsMetadata>().Any();
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "DeepDeploy API";
            // Markdown: the code span keeps "<token>" from being read as an HTML tag and dropped.
            document.Info.Description = "DeepInfra-compatible deploy API and OpenAI-compatible inference API. "
                + "Every call takes `Authorization: Bearer <token>`: press Authorize and paste a user's or the operator's token.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A user's API token (dd-…) or the operator's token.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] }];
            return Task.CompletedTask;
        });
    }
}
