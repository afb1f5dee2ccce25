using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Support;
using Microsoft.Playwright;
using Protocol = DeepDeploy.WorkerProtocol.WorkerProtocol;

namespace DeepDeploy.Tests.WebConsole;

/// <summary>The web console in a real browser against the real system: what a user and an operator do.</summary>
[Collection(SystemCollection.Name)]
public sealed class ConsoleTests(ConsoleSystem console) : IClassFixture<ConsoleSystem>
{
    static readonly TimeSpan Startup = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_user_signs_in_deploys_chats_scales_sees_usage_and_deletes()
    {
        var token = await console.System.CreateUserAsync("webuser");
        var page = await console.NewPageAsync();

        await page.GotoAsync("/console");
        Assert.EndsWith("/console/signin", page.Url);
        await ConsoleSystem.CheckPageAsync(page, "signin");
        await console.SignInAsync(page, token);
        await ConsoleSystem.CheckPageAsync(page, "deployments");

        // The API's own validation message, shown at its field; nothing is created.
        await page.GetByLabel("Model name").FillAsync("tiny");
        await page.GetByLabel("Hugging Face repo").FillAsync("deepdeploy/tiny-llama-gguf");
        await page.GetByLabel("GPU", new() { Exact = true }).SelectOptionAsync("A100-80GB");
        await page.GetByLabel("Max batch size").FillAsync("999");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create deployment" }).ClickAsync();
        await Assertions.Expect(page.Locator("#error-max_batch_size")).ToContainTextAsync("between 1 and 256");
        await Assertions.Expect(page.GetByLabel("Max batch size")).ToHaveAttributeAsync("aria-describedby", "error-max_batch_size");

        await page.GetByLabel("Max batch size").FillAsync("8");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create deployment" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "webuser/tiny" })).ToBeVisibleAsync();

        // The live region follows the deployment until it serves.
        await Assertions.Expect(page.Locator("[data-status]")).ToHaveAttributeAsync("data-status", "running", new() { Timeout = (float)Startup.TotalMilliseconds });
        await Assertions.Expect(page.Locator(".timeline")).ToContainTextAsync("status_changed", new() { Timeout = 10_000 });

        // Chat: the answer arrives as several streamed chunks.
        await page.GetByLabel("Message").FillAsync("Tell me a story");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        await Assertions.Expect(page.Locator("#chat-status")).ToContainTextAsync("Done", new() { Timeout = 60_000 });
        var chunks = int.Parse(await page.Locator("#chat-answer").GetAttributeAsync("data-chunks") ?? "0");
        Assert.True(chunks > 1, $"the answer came in {chunks} chunk(s), not streamed");
        Assert.False(string.IsNullOrWhiteSpace(await page.Locator("#chat-answer").TextContentAsync()));
        await ConsoleSystem.CheckPageAsync(page, "deployment");

        // Without a reload, the timeline and the logs follow the deployment: its worker is killed, and the node's restart
        // shows up as an event and as new, timed log lines (only a line that came live has a time).
        await page.EvaluateAsync("() => { window.notReloaded = true; }");
        var deployId = page.Url[(page.Url.LastIndexOf('/') + 1)..];
        console.System.Agent.Instances.Single(i => i.Launch.DeployId == deployId).Process!.Kill();
        await Assertions.Expect(page.Locator("#timeline")).ToContainTextAsync("instance_restarted", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#logs [data-time]").Filter(new() { HasText = Protocol.Readiness.ListeningPrefix }).First)
            .ToBeAttachedAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-status]")).ToHaveAttributeAsync("data-status", "running", new() { Timeout = 60_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.notReloaded === true"), "the page was reloaded");

        // The operator's nodes grid shows the GPU it holds, in text, linking to it; then the user signs in again.
        var deploymentUrl = page.Url;
        page = await console.NewPageAsync();
        await console.SignInAsync(page, RunningSystem.AdminToken);
        await page.GotoAsync("/console/admin/nodes");
        var holder = page.Locator(".gpu-held").Filter(new() { HasText = "webuser/tiny" });
        await Assertions.Expect(holder).ToContainTextAsync("held by");
        await ConsoleSystem.CheckPageAsync(page, "operator-nodes-held");
        await holder.GetByRole(AriaRole.Link, new() { Name = "webuser/tiny" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "webuser/tiny" })).ToBeVisibleAsync();
        page = await console.NewPageAsync();
        await console.SignInAsync(page, token);
        await page.GotoAsync(deploymentUrl);

        // Scale: an invalid range is refused at its field, a valid one is saved.
        await page.GetByLabel("Min instances").FillAsync("3");
        await page.GetByLabel("Max instances").FillAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("#error-settings-max_instances")).ToBeVisibleAsync();
        await page.GetByLabel("Min instances").FillAsync("1");
        await page.GetByLabel("Max instances").FillAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("#state-live")).ToContainTextAsync("min 1, max 2");
        using (var api = console.System.Client(token))
        {
            var deploy = (await api.GetFromJsonAsync<JsonElement>("/deploy/list")).EnumerateArray().Single();
            Assert.Equal(2, deploy.GetProperty("settings").GetProperty("max_instances").GetInt32());
        }

        // Usage: the running deployment is metered, and the billing page shows it.
        await page.GotoAsync("/console/billing");
        await Eventually.TrueAsync(async () =>
        {
            await page.ReloadAsync();
            return await page.Locator("#deployments-title + svg, section table").Filter(new() { HasText = "webuser/tiny" }).CountAsync() > 0;
        }, TimeSpan.FromSeconds(30), "usage of webuser/tiny on the billing page");
        await ConsoleSystem.CheckPageAsync(page, "billing");

        // Delete, with its confirmation step.
        await page.GotoAsync("/console");
        await page.Locator("details.confirm summary").Filter(new() { HasText = "webuser/tiny" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete webuser/tiny", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#deployments-live")).Not.ToContainTextAsync("webuser/tiny");
        using (var api = console.System.Client(token))
        {
            Assert.Empty((await api.GetFromJsonAsync<JsonElement>("/deploy/list")).EnumerateArray());
        }

        // Sign out ends the session.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync("**/console/signin");
        await page.GotoAsync("/console");
        Assert.EndsWith("/console/signin", page.Url);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_with_a_clear_message()
    {
        var page = await console.NewPageAsync();
        await page.GotoAsync("/console/signin");
        await page.GetByLabel("API token").FillAsync("dd-not-a-real-token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid");
        Assert.EndsWith("/console/signin", page.Url);
        await page.GotoAsync("/console");
        Assert.EndsWith("/console/signin", page.Url);
    }

    [Fact]
    public async Task The_operator_opens_the_operator_pages_the_dashboard_and_the_api_docs()
    {
        var user = await console.System.CreateUserAsync("plainuser");
        using (var anonymous = console.System.Client(null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/dashboard/")).StatusCode);
        }

        // A user's console session does not open the dashboard.
        var page = await console.NewPageAsync();
        await console.SignInAsync(page, user);
        var denied = await page.GotoAsync("/dashboard/");
        Assert.Equal((int)HttpStatusCode.Forbidden, denied!.Status);

        page = await console.NewPageAsync();
        await console.SignInAsync(page, RunningSystem.AdminToken);
        await page.GotoAsync("/console/admin/users");
        await Assertions.Expect(page.Locator("table")).ToContainTextAsync("plainuser");
        await ConsoleSystem.CheckPageAsync(page, "operator-users");
        await page.GotoAsync("/console/admin/events");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Cluster events" })).ToBeVisibleAsync();
        await ConsoleSystem.CheckPageAsync(page, "operator-events");

        // Nodes and GPUs: reached from the operator nav, each GPU labelled in text, not by colour alone.
        await page.GetByRole(AriaRole.Link, new() { Name = "Nodes", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Nodes and GPUs" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("table.nodes tbody tr").First).ToContainTextAsync("live");
        await Assertions.Expect(page.Locator(".gpu").First).ToContainTextAsync(new Regex("GPU 0 .*· (free|held by)"));
        await ConsoleSystem.CheckPageAsync(page, "operator-nodes");

        // The dashboard renders its live content (silos), from its own API calls made with the cookie.
        var dashboard = await page.GotoAsync("/dashboard/");
        Assert.Equal(200, dashboard!.Status);
        await Assertions.Expect(page.Locator("#menu")).Not.ToBeEmptyAsync(new() { Timeout = 20_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleSystem.ScreenshotDirectory, "dashboard.png") });

        var metrics = await page.GotoAsync("/metrics");
        Assert.Equal(200, metrics!.Status);
        Assert.Contains("# TYPE", await metrics.TextAsync());

        // /docs/: only the public API, grouped by tag, with an Authorize button.
        await page.GotoAsync("/docs/");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Authorize" })).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator(".opblock-tag-section").First).ToBeVisibleAsync();
        var tags = await page.Locator(".opblock-tag").AllTextContentsAsync();
        Assert.Contains(tags, t => t.StartsWith("Deployments"));
        Assert.DoesNotContain(await page.ContentAsync(), "/dashboard/");
        Assert.Contains("Authorization: Bearer <token>", await page.Locator(".info").TextContentAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleSystem.ScreenshotDirectory, "docs.png") });
    }
}
