using DeepDeploy.Tests.EndToEnd;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace DeepDeploy.Tests.WebConsole;

/// <summary>One real all-in-one system and one headless Debian chromium (never a downloaded browser) for a whole
/// test class: the browser tests' cost is one start of each.</summary>
public sealed class ConsoleSystem : IAsyncLifetime
{
    /// <summary>Flags that keep chromium from reaching the internet or the machine's GPU.</summary>
    static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    IPlaywright? _playwright;
    string? _profile;

    public RunningSystem System { get; private set; } = default!;

    public IBrowserContext Browser { get; private set; } = default!;

    /// <summary>Where each page's screenshot is kept: under the test output directory.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "console-screenshots");

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        System = await RunningSystem.StartAsync();
        _playwright = await Playwright.CreateAsync();
        _profile = Directory.CreateTempSubdirectory("deepdeploy-chromium-").FullName;
        Browser = await _playwright.Chromium.LaunchPersistentContextAsync(_profile, new()
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ChromiumArgs,
            BaseURL = System.BaseAddress.ToString(),
            ViewportSize = new() { Width = 1280, Height = 800 },
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    /// <summary>A fresh page with no session (cookies of earlier tests cleared). Earlier pages are closed, as a user
    /// closes a tab: an open deployment page holds two event streams of the six HTTP/1.1 connections chromium allows
    /// per host, since headless pages all count as visible.</summary>
    public async Task<IPage> NewPageAsync()
    {
        foreach (var open in Browser.Pages.ToArray())
        {
            await open.CloseAsync();
        }

        await Browser.ClearCookiesAsync();
        return await Browser.NewPageAsync();
    }

    public async Task SignInAsync(IPage page, string token)
    {
        await page.GotoAsync("/console/signin");
        await page.GetByLabel("API token").FillAsync(token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
    }

    /// <summary>An axe check (no serious or critical violation) and a full-page screenshot, at laptop and phone width.</summary>
    public static async Task CheckPageAsync(IPage page, string name)
    {
        var results = await page.RunAxe();
        var bad = results.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(bad.Count == 0, $"{name}: " + string.Join("; ", bad.Select(Describe)));
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
        await page.SetViewportSizeAsync(390, 844);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + "-phone.png"), FullPage = true });
        var overflow = await page.EvaluateAsync<bool>("document.documentElement.scrollWidth > window.innerWidth + 1");
        await page.SetViewportSizeAsync(1280, 800);
        Assert.False(overflow, $"{name}: the page scrolls sideways at phone width");
    }

    static string Describe(AxeResultItem v) =>
        $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}";

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (System is not null)
        {
            await System.DisposeAsync();
        }

        if (_profile is not null)
        {
            Directory.Delete(_profile, recursive: true);
        }
    }
}
