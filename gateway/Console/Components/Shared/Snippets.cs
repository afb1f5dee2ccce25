namespace DeepDeploy.Gateway.WebConsole.Components.Shared;

/// <summary>Copy-paste code for one model: the token is read from the environment, never written into the page.</summary>
public static class Snippets
{
    public static string Curl(string baseUrl, string model) => $$"""
        curl {{baseUrl}}/v1/openai/chat/completions \
          -H "Authorization: Bearer $DEEPDEPLOY_TOKEN" \
          -H "Content-Type: application/json" \
          -d '{"model": "{{model}}", "stream": true, "messages": [{"role": "user", "content": "Hello!"}]}'
        """;

    public static string Python(string baseUrl, string model) => $$"""
        import os
        from openai import OpenAI

        client = OpenAI(base_url="{{baseUrl}}/v1/openai", api_key=os.environ["DEEPDEPLOY_TOKEN"])
        stream = client.chat.completions.create(
            model="{{model}}",
            messages=[{"role": "user", "content": "Hello!"}],
            stream=True,
        )
        for chunk in stream:
            print(chunk.choices[0].delta.content or "", end="", flush=True)
        """;

    public static string DotNet(string baseUrl, string model) => $$"""
        using System.ClientModel;
        using OpenAI;
        using OpenAI.Chat;

        var client = new ChatClient("{{model}}", new ApiKeyCredential(Environment.GetEnvironmentVariable("DEEPDEPLOY_TOKEN")!),
            new OpenAIClientOptions { Endpoint = new Uri("{{baseUrl}}/v1/openai") });
        await foreach (var update in client.CompleteChatStreamingAsync("Hello!"))
        {
            foreach (var part in update.ContentUpdate)
            {
                Console.Write(part.Text);
            }
        }
        """;
}
