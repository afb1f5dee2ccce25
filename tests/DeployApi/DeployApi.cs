using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace DeepDeploy.Tests.DeployApi;

/// <summary>Small helpers for calling the deploy API in tests.</summary>
public static class DeployApi
{
    public const string TinyRepo = "deepdeploy/tiny-llama-gguf";

    public static object Tiny(string name, string gpu = "A100-80GB", int numGpus = 1, int min = 1, int max = 1) => new
    {
        model_name = name,
        gpu,
        num_gpus = numGpus,
        max_batch_size = 2,
        hf = new { repo = TinyRepo },
        settings = new { min_instances = min, max_instances = max },
    };

    public static async Task<JsonElement> CreateAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/deploy/llm", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static string Id(JsonElement deploy) => deploy.GetProperty("deploy_id").GetString()!;

    public static string Status(JsonElement deploy) => deploy.GetProperty("status").GetString()!;

    public static int Running(JsonElement deploy) => deploy.GetProperty("instances").GetProperty("running").GetInt32();

    public static int Pending(JsonElement deploy) => deploy.GetProperty("instances").GetProperty("pending").GetInt32();

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Asserts a 4xx with the error shape, and returns the error object.</summary>
    public static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("code").GetString()));
        if (field is not null)
        {
            Assert.Equal(field, error.GetProperty("field").GetString());
        }

        return error;
    }
}
