using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepDeploy.Tests.EndToEnd;
using static DeepDeploy.Tests.DeployApi.DeployApi;

namespace DeepDeploy.Tests.Security;

/// <summary>
/// A generated table of hostile inputs over the public endpoints, run against one real system: each must get a
/// 4xx with the error shape (never a 500, never a success), and after the whole table the callers' deployments,
/// accounts and limits are as they were.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class BadInputTests
{
    const string User = "bi";
    const string Other = "bi-other";

    /// <summary>Marks a case sent with the operator's token.</summary>
    const string AdminMarker = "<admin>";

    /// <summary>Strings no name, repo, revision, GPU or quantization field may accept.</summary>
    static readonly string[] BadStrings =
    [
        "", " ", "a\n", "probe\n", "probe\r\n", "probe\t", "pro be", "\0probe", "probe\u0007", "probe\u202e", "../probe",
        "%2e%2e", new string('a', 100_000), "ｐrobe", "prоbe", "probe\u0301", "١٢٣", "probe;rm -rf /", "<script>",
    ];

    /// <summary>Non-ASCII digits, signs, white space, exponents and overflow where a number is read from a string.</summary>
    static readonly string[] BadNumbers = ["0", "1001", "-1", "+5", " 5", "5\n", "٥", "５", "99999999999", "1e3", "0x10", "abc", "5.0", "5%00"];

    static readonly JsonNode?[] NotAString = [1, true, 1.5, new JsonArray(), new JsonObject()];

    static readonly JsonNode?[] BadInts = [-1, 1e30, 2147483648L, 99999999999L, "1", true, 1.5, new JsonArray(), new JsonObject(), "١"];

    record Case(string Name, HttpMethod Method, string Path, string? Body, string? Token = null);

    static JsonObject ValidDeploy() => JsonNode.Parse("""
        {"model_name": "probe", "gpu": "A100-80GB", "num_gpus": 1, "max_batch_size": 2,
         "hf": {"repo": "deepdeploy/tiny-llama-gguf"}, "settings": {"min_instances": 0, "max_instances": 1}}
        """)!.AsObject();

    /// <summary>The valid deploy body with one field (a dotted path) set to <paramref name="value"/>.</summary>
    static string With(string path, JsonNode? value)
    {
        var body = ValidDeploy();
        var parts = path.Split('.');
        var target = parts[..^1].Aggregate(body, (o, p) => o[p]!.AsObject());
        target[parts[^1]] = value?.DeepClone();
        return body.ToJsonString();
    }

    static IEnumerable<Case> Cases(string ownId, string otherId)
    {
        var post = HttpMethod.Post;
        var get = HttpMethod.Get;
        var put = HttpMethod.Put;

        // POST /deploy/llm: each field with each wrong value.
        foreach (var field in new[] { "model_name", "gpu", "hf.repo", "hf.revision", "quantization" })
        {
            foreach (var value in BadStrings.Where(s => field != "hf.revision" || s.Length > 128 || s.Contains('\n') || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/')))
            {
                yield return new($"{field}={Show(value)}", post, "/deploy/llm", With(field, value));
            }

            foreach (var value in NotAString)
            {
                yield return new($"{field} as {value!.GetValueKind()}", post, "/deploy/llm", With(field, value));
            }
        }

        foreach (var extra in new[] { "deepdeploy/tiny-llama-gguf\n", "deepdeploy/..", "/etc/passwd", "deepdeploy//x", "https://evil/x/y", "a/../b" })
        {
            yield return new($"hf.repo={Show(extra)}", post, "/deploy/llm", With("hf.repo", extra));
        }

        yield return new("hf.revision with ..", post, "/deploy/llm", With("hf.revision", "main/../../etc"));
        yield return new("gpu with a trailing newline", post, "/deploy/llm", With("gpu", "A100-80GB\n"));
        yield return new("model_name of another user", post, "/deploy/llm", With("model_name", Other + "/probe"));
        foreach (var field in new[] { "num_gpus", "max_batch_size", "settings.min_instances", "settings.max_instances" })
        {
            foreach (var value in BadInts)
            {
                yield return new($"{field}={value!.ToJsonString()}", post, "/deploy/llm", With(field, value));
            }
        }

        yield return new("num_gpus 9", post, "/deploy/llm", With("num_gpus", 9));
        yield return new("max_batch_size 257", post, "/deploy/llm", With("max_batch_size", 257));
        yield return new("max below min", post, "/deploy/llm", With("settings", new JsonObject { ["min_instances"] = 3, ["max_instances"] = 2 }));
        foreach (var (name, value) in new (string, JsonNode?)[]
        {
            ("extra_args too many", new JsonArray(Enumerable.Range(0, 65).Select(i => (JsonNode?)"x").ToArray())),
            ("extra_args too long", new JsonArray("x" + new string('a', 2000))),
            ("extra_args a string", "--flag"), ("extra_args numbers", new JsonArray(1, 2)), ("extra_args with null", new JsonArray((JsonNode?)null)),
            ("hf a string", "deepdeploy/tiny-llama-gguf"), ("hf an array", new JsonArray()), ("hf null", null), ("settings a number", 5),
            ("model_name null", null), ("gpu null", null),
        })
        {
            var field = name.Split(' ')[0];
            yield return new(name, post, "/deploy/llm", With(field, value));
        }

        var unknown = ValidDeploy();
        unknown["owner"] = Other;
        yield return new("unknown field owner", post, "/deploy/llm", unknown.ToJsonString());
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100);
        foreach (var (name, body) in new[]
        {
            ("null body", "null"), ("array body", "[]"), ("string body", "\"x\""), ("number body", "5"), ("empty body", ""),
            ("truncated", "{\"model_name\":\"probe\""), ("not json", "model_name=probe"), ("deep nesting", deep), ("nul bytes", "\0\0\0"),
            ("invalid utf-8 in a string", "{\"model_name\":\"\udc00\"}"),
        })
        {
            yield return new(name, post, "/deploy/llm", body);
        }

        // Query strings that must be ASCII and exact.
        foreach (var value in BadNumbers)
        {
            yield return new($"logs lines={Show(value)}", get, $"/deploy/{ownId}/logs?lines={Uri.EscapeDataString(value)}", null);
        }

        foreach (var value in new[] { "running\n", "1", "0", "٣", "runnıng", "running\0", "running,1", "deleted\t", "ｒunning", "running;x" })
        {
            yield return new($"list status={Show(value)}", get, $"/deploy/list?status={Uri.EscapeDataString(value)}", null);
        }

        foreach (var field in new[] { "from", "to" })
        {
            foreach (var value in new[] { "yesterday", "2026-11-23\n", "٢٠٢٦-11-23", "2026-11-23 ", "2026-13-01", "99999-01-01", "2026-11-23T25:00:00Z", "1e10", "-1", "2026-11-23T10:00:00+99:00", "2026-11-２3" })
            {
                yield return new($"usage {field}={Show(value)}", get, $"/billing/usage?{field}={Uri.EscapeDataString(value)}", null);
            }
        }

        foreach (var week in new[] { "2026-W48\n", "٢٠٢٦-W48", "2026-W99", "2026-W00", "2026-w48", "99999-W01", "2026-W4８", "1999-W01", "2026-W48x", " 2026-W48" })
        {
            yield return new($"invoice {Show(week)}", get, $"/billing/invoices/{Uri.EscapeDataString(week)}", null);
        }

        foreach (var body in new[] { "{\"usd\":-1}", "{\"usd\":\"10\"}", "{\"usd\":1e30}", "{}", "{\"usd\":true}", "\"x\"", "{\"usd\":10,\"evil\":1}", "[]" })
        {
            yield return new($"limit {body}", put, "/billing/limit", body);
        }

        // Another user's deployment and ids that name nothing: 404, whatever the verb.
        foreach (var id in new[] { otherId, "x..y", "x%0Ay", new string('d', 300), "٣", ownId + "%0A" })
        {
            yield return new($"get {Show(id)}", get, $"/deploy/{id}", null);
            yield return new($"logs {Show(id)}", get, $"/deploy/{id}/logs", null);
            yield return new($"update {Show(id)}", put, $"/deploy/{id}", "{\"settings\":{\"min_instances\":0,\"max_instances\":2}}");
            yield return new($"delete {Show(id)}", HttpMethod.Delete, $"/deploy/{id}", null);
            yield return new($"stop {Show(id)}", post, $"/deploy/{id}/stop", null);
            yield return new($"start {Show(id)}", post, $"/deploy/{id}/start", null);
        }

        foreach (var body in new[] { "{\"settings\":{\"min_instances\":-1}}", "{\"settings\":{\"max_instances\":0}}", "{\"settings\":{\"min_instances\":\"1\"}}",
                     "{\"model_name\":\"renamed\"}", "{\"gpu\":\"H100-80GB\"}", "null", "\"x\"", "{\"settings\":5}" })
        {
            yield return new($"update own {body}", put, $"/deploy/{ownId}", body);
        }

        // Inference: a model that is not the caller's, or no model.
        foreach (var body in new[] { "{}", "{\"model\":5}", $"{{\"model\":\"{Other}/theirs\"}}", $"{{\"model\":\"{User}/none\"}}", $"{{\"model\":\"{User}/own\\n\"}}",
                     "[]", "{", "null", $"{{\"model\":\"{User}/own\",\"model\"", "{\"model\":null}",
                     $"{{\"model\":\"{User}/own\",\"model\":\"{User}/own\"}}", $"{{\"model\":\"{User}/own\"}} {{}}", $"{{\"model\":\"{User}/own\",\"x\":[1,}}" })
        {
            yield return new($"chat {body}", post, "/v1/openai/chat/completions", body);
            yield return new($"completions {body}", post, "/v1/openai/completions", body);
        }

        yield return new("native of another user", post, $"/v1/inference/{Other}/theirs", "{\"input\":\"hi\"}");
        yield return new("native of nothing", post, $"/v1/inference/{User}/none", "{\"input\":\"hi\"}");
        yield return new("native bad body", post, $"/v1/inference/{User}/own", "{\"input\":5}");

        // Operator endpoints: refused to a user, and bad values from the operator change nothing.
        yield return new("user sets a quota", put, $"/admin/users/{User}/quota", "{\"gpu_limit\":100}");
        yield return new("user creates a user", post, "/admin/users", "{\"name\":\"intruder\"}");
        yield return new("user lists users", get, "/admin/users", null);
        foreach (var name in new[] { "a\n", "-a", "a b", "ａ", new string('a', 40), "", "ü", "a/b", "..", User, "\0" })
        {
            yield return new($"create user {Show(name)}", post, "/admin/users", JsonSerializer.Serialize(new { name }), AdminMarker);
        }

        foreach (var body in new[] { "{\"gpu_limit\":-1}", "{\"max_deployments\":\"3\"}", "{\"max_concurrent_requests\":1e20}", "{}", "{\"gpu_limit\":100001}", "{\"max_deployments\":-5}", "{\"gpu_limit\":1,\"evil\":1}" })
        {
            yield return new($"quota {body}", put, $"/admin/users/{User}/quota", body, AdminMarker);
        }

        yield return new("quota of nobody", put, "/admin/users/nobody/quota", "{\"gpu_limit\":1}", AdminMarker);

        // Tokens that are not a user's.
        foreach (var token in new[] { "nope", "dd-", "dd-" + new string('a', 5000), "Bearer", "dd-%C3%A9" })
        {
            yield return new($"token {Show(token)}", get, "/deploy/list", null, token);
        }
    }

    static string Show(string value) =>
        value.Length > 24 ? $"{value.Length} chars" : JsonSerializer.Serialize(value);

    [Fact]
    public async Task Every_hostile_input_gets_a_4xx_error_and_changes_nothing()
    {
        await using var system = await RunningSystem.StartAsync();
        var userToken = await system.CreateUserAsync(User);
        using var client = system.Client(userToken);
        using var other = system.Client(await system.CreateUserAsync(Other));
        using var admin = system.Client(RunningSystem.AdminToken);
        var ownId = Id(await CreateAsync(client, Tiny("own", min: 0)));
        var otherId = Id(await CreateAsync(other, Tiny("theirs", min: 0)));
        var before = await SnapshotAsync(client, other, admin);

        var cases = Cases(ownId, otherId).ToList();
        Assert.True(cases.Count >= 300, $"only {cases.Count} cases");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            using var request = new HttpRequestMessage(c.Method, c.Path);
            if (c.Body is not null)
            {
                request.Content = new StringContent(c.Body, Encoding.UTF8, "application/json");
            }

            var token = c.Token == AdminMarker ? RunningSystem.AdminToken : c.Token ?? userToken;
            request.Headers.Authorization = null;
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            if (status is < 400 or >= 500 || !IsApiError(text))
            {
                failures.Add($"{c.Name}: {status} {text[..Math.Min(text.Length, 200)]}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases were not a 4xx API error:\n{string.Join("\n", failures)}");
        Assert.Equal(before, await SnapshotAsync(client, other, admin));

        // The control: the valid body the table mutated is accepted.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/deploy/llm", new StringContent(ValidDeploy().ToJsonString(), Encoding.UTF8, "application/json"))).StatusCode);
    }

    static bool IsApiError(string text)
    {
        try
        {
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            return !string.IsNullOrEmpty(error.GetProperty("code").GetString()) && !string.IsNullOrEmpty(error.GetProperty("message").GetString());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>What the table must not change: both users' deployments (names, configuration, settings; not the
    /// status, which the control loop moves on its own), accounts, limits, and the user list.</summary>
    static async Task<string> SnapshotAsync(HttpClient client, HttpClient other, HttpClient admin)
    {
        var deployments = new List<string>();
        foreach (var caller in new[] { client, other })
        {
            foreach (var d in (await caller.GetFromJsonAsync<JsonElement>("/deploy/list")).EnumerateArray())
            {
                var config = d.GetProperty("config");
                deployments.Add($"{Id(d)} {d.GetProperty("model_name")} {config.GetProperty("gpu")} {config.GetProperty("num_gpus")} {config.GetProperty("max_batch_size")} {d.GetProperty("settings")}");
            }
        }

        var parts = new[] { await client.GetStringAsync("/v1/me"), await client.GetStringAsync("/billing/limit"), await admin.GetStringAsync("/admin/users") };
        return string.Join("\n", deployments.Concat(parts.Select(p => JsonNode.Parse(p)!.ToJsonString())));
    }
}
