using System.Text;

namespace DeepDeploy.LocalHub;

/// <summary>
/// Minimal writer for the GGUF v3 container format (little-endian): header, key/value metadata,
/// tensor descriptors and the aligned tensor data section. Only the value types the tiny model
/// needs are supported. Usage: add metadata and tensors, then call <see cref="WriteTo"/> once.
/// </summary>
internal sealed class GgufWriter
{
    private const uint Magic = 0x46554747; // "GGUF" read as a little-endian u32
    private const uint Version = 3;
    private const int Alignment = 32;

    private enum ValueType : uint
    {
        UInt32 = 4,
        Int32 = 5,
        Float32 = 6,
        Bool = 7,
        String = 8,
        Array = 9,
    }

    private const uint TensorTypeF32 = 0;

    private readonly List<Action<BinaryWriter>> _kvs = [];
    private readonly List<(string Name, ulong[] Dims, float[] Data)> _tensors = [];

    public void AddString(string key, string value) => _kvs.Add(w =>
    {
        WriteString(w, key);
        w.Write((uint)ValueType.String);
        WriteString(w, value);
    });

    public void AddUInt32(string key, uint value) => _kvs.Add(w =>
    {
        WriteString(w, key);
        w.Write((uint)ValueType.UInt32);
        w.Write(value);
    });

    public void AddFloat32(string key, float value) => _kvs.Add(w =>
    {
        WriteString(w, key);
        w.Write((uint)ValueType.Float32);
        w.Write(value);
    });

    public void AddBool(string key, bool value) => _kvs.Add(w =>
    {
        WriteString(w, key);
        w.Write((uint)ValueType.Bool);
        w.Write((byte)(value ? 1 : 0));
    });

    public void AddStringArray(string key, IReadOnlyList<string> values) => _kvs.Add(w =>
    {
        WriteString(w, key);
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.String);
        w.Write((ulong)values.Count);
        foreach (var v in values)
            WriteString(w, v);
    });

    public void AddInt32Array(string key, IReadOnlyList<int> values) => _kvs.Add(w =>
    {
        WriteString(w, key);
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (var v in values)
            w.Write(v);
    });

    public void AddFloat32Array(string key, IReadOnlyList<float> values) => _kvs.Add(w =>
    {
        WriteString(w, key);
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.Float32);
        w.Write((ulong)values.Count);
        foreach (var v in values)
            w.Write(v);
    });

    /// <summary>Adds an F32 tensor. <paramref name="dims"/> are listed fastest-varying first (GGML order).</summary>
    public void AddTensorF32(string name, ulong[] dims, float[] data)
    {
        ulong count = 1;
        foreach (var d in dims)
            count *= d;
        if (count != (ulong)data.Length)
            throw new ArgumentException($"Tensor {name}: {data.Length} values for dims [{string.Join(", ", dims)}].", nameof(data));
        _tensors.Add((name, dims, data));
    }

    public void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_kvs.Count);
        foreach (var kv in _kvs)
            kv(w);

        // Tensor descriptors; each offset is relative to the start of the data section and padded.
        ulong offset = 0;
        foreach (var (name, dims, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (var d in dims)
                w.Write(d);
            w.Write(TensorTypeF32);
            w.Write(offset);
            offset += Pad((ulong)data.Length * sizeof(float));
        }

        WritePadding(w);
        var dataStart = w.BaseStream.Position;
        foreach (var (_, _, data) in _tensors)
        {
            foreach (var f in data)
                w.Write(f);
            WritePadding(w, dataStart);
        }
        w.Flush();
    }

    private static ulong Pad(ulong n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void WritePadding(BinaryWriter w, long origin = 0)
    {
        var rel = w.BaseStream.Position - origin;
        var pad = (int)((Alignment - rel % Alignment) % Alignment);
        for (var i = 0; i < pad; i++)
            w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
