using System.Text.Json;
using DeepDeploy.Gateway.WebConsole.Components.Shared;

namespace DeepDeploy.Tests.WebConsole;

/// <summary>The console's create form → the JSON of POST /deploy/llm: blanks are left out for the API's defaults,
/// a non-number in a number field is refused at that field, and nothing else is judged here.</summary>
[Trait("Category", "Unit")]
public sealed class CreateFormTests
{
    [Fact]
    public void A_full_form_becomes_every_field_of_the_create_call()
    {
        var body = new CreateForm
        {
            ModelName = " tiny ", HfRepo = "deepdeploy/tiny-llama-gguf", HfRevision = "main", HfToken = "hf_x", Gpu = "A100-80GB",
            NumGpus = "2", MaxBatchSize = "8", Quantization = "Q4_K_M", MinInstances = "0", MaxInstances = "3", ExtraArgs = "--a\r\n\n --b 1 ",
        }.ToBody();

        var json = JsonSerializer.Serialize(body);
        Assert.Equal(
            """{"model_name":"tiny","gpu":"A100-80GB","num_gpus":2,"max_batch_size":8,"hf":{"repo":"deepdeploy/tiny-llama-gguf","revision":"main","token":"hf_x"},"settings":{"min_instances":0,"max_instances":3},"quantization":"Q4_K_M","extra_args":["--a","--b 1"]}""",
            json);
    }

    [Fact]
    public void Blank_optional_fields_are_left_to_the_api()
    {
        var body = new CreateForm { ModelName = "m", HfRepo = "a/b", NumGpus = " ", MaxBatchSize = "", MinInstances = null, MaxInstances = "" }.ToBody()!;

        Assert.False(body.ContainsKey("num_gpus"));
        Assert.False(body.ContainsKey("max_batch_size"));
        Assert.False(body.ContainsKey("quantization"));
        Assert.False(body.ContainsKey("extra_args"));
        Assert.Equal("{}", JsonSerializer.Serialize(body["settings"]));
        Assert.Equal("""{"repo":"a/b"}""", JsonSerializer.Serialize(body["hf"]));
    }

    [Theory]
    [InlineData("two", "1", "num_gpus")]
    [InlineData("1", "1.5", "settings.max_instances")]
    public void A_number_field_that_holds_no_whole_number_is_refused_at_its_field(string numGpus, string maxInstances, string field)
    {
        var form = new CreateForm { ModelName = "m", HfRepo = "a/b", NumGpus = numGpus, MaxInstances = maxInstances };

        Assert.Null(form.ToBody());
        Assert.Equal(field, form.Invalid!.ErrorField);
        Assert.Contains("whole number", form.Invalid.ErrorMessage);
    }
}
