#!/usr/bin/python3
"""llama_ref.py: an independent float64 numpy forward pass of a Llama/Qwen2 model, the oracle
for tests/test_transformer.c.

    llama_ref.py MODEL IDS OUT      MODEL: a .gguf file (f32/f16 tensors) or a Hugging Face folder
                                    (model.safetensors, f32/bf16/f16); IDS: comma-separated token ids;
                                    OUT: raw float32 logits [len(IDS), vocab] written here.
"""
import json, os, struct, sys
import numpy as np

GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_read(path):
    buf = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)[0]
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = take("<Q")
        s = buf[pos:pos + n].decode("utf-8", "replace")
        pos += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        return take(GGUF_SCALARS[t])

    assert buf[:4] == b"GGUF", "not a GGUF file"
    pos = 4
    take("<I")
    n_tensors, n_kv = take("<Q"), take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        infos.append((name, ne, take("<I"), take("<Q")))
    align = meta.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, ne, typ, off in infos:
        dt = {0: np.float32, 1: np.float16}[typ]
        count = int(np.prod(ne))
        a = np.frombuffer(buf, dtype=dt, count=count, offset=base + off)  # upcast per operation
        tensors[name] = a.reshape(list(reversed(ne)))
    return meta, tensors


def safetensors_read(folder):
    tensors = {}
    for fn in sorted(os.listdir(folder)):
        if not fn.endswith(".safetensors"):
            continue
        buf = open(os.path.join(folder, fn), "rb").read()
        n = struct.unpack_from("<Q", buf, 0)[0]
        header = json.loads(buf[8:8 + n])
        for name, info in header.items():
            if name == "__metadata__":
                continue
            b, e = info["data_offsets"]
            raw = buf[8 + n + b:8 + n + e]
            if info["dtype"] == "BF16":
                a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
            else:
                a = np.frombuffer(raw, dtype={"F32": np.float32, "F16": np.float16}[info["dtype"]])
            tensors[name] = a.astype(np.float64).reshape(info["shape"])
    return tensors


def from_gguf(path):
    meta, t = gguf_read(path)
    arch = meta["general.architecture"]
    c = lambda k, d=None: meta.get(arch + "." + k, d)
    n_embd, n_head = c("embedding_length"), c("attention.head_count")
    hp = dict(n_layer=c("block_count"), n_head=n_head, n_kv=c("attention.head_count_kv", n_head),
              eps=c("attention.layer_norm_rms_epsilon"), theta=c("rope.freq_base", 10000.0),
              neox=(arch == "qwen2"), head_dim=c("attention.key_length", n_embd // n_head))
    w = {"embed": t["token_embd.weight"], "norm": t["output_norm.weight"],
         "out": t.get("output.weight", t["token_embd.weight"]), "layers": []}
    if "rope_freqs.weight" in t:
        hp["freq_factors"] = t["rope_freqs.weight"]
    names = dict(an="attn_norm", q="attn_q", k="attn_k", v="attn_v", o="attn_output", fn="ffn_norm",
                 g="ffn_gate", u="ffn_up", d="ffn_down")
    for i in range(hp["n_layer"]):
        L = {k: t["blk.%d.%s.weight" % (i, n)] for k, n in names.items()}
        for b in "qkv":
            L["b" + b] = t.get("blk.%d.attn_%s.bias" % (i, b))
        w["layers"].append(L)
    return hp, w


def from_hf(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    t = safetensors_read(folder)
    rope = cfg.get("rope_parameters") or dict(cfg.get("rope_scaling") or {}, rope_theta=cfg.get("rope_theta", 10000.0))
    n_head = cfg["num_attention_heads"]
    hp = dict(n_layer=cfg["num_hidden_layers"], n_head=n_head, n_kv=cfg.get("num_key_value_heads", n_head),
              eps=cfg["rms_norm_eps"], theta=rope["rope_theta"], neox=True,
              head_dim=cfg.get("head_dim") or cfg["hidden_size"] // n_head)
    if rope.get("rope_type", rope.get("type")) == "llama3":
        hp["llama3"] = rope
    embed = t["model.embed_tokens.weight"]
    w = {"embed": embed, "norm": t["model.norm.weight"], "out": t.get("lm_head.weight", embed), "layers": []}
    for i in range(hp["n_layer"]):
        p = "model.layers.%d." % i
        L = dict(an=t[p + "input_layernorm.weight"], fn=t[p + "post_attention_layernorm.weight"],
                 g=t[p + "mlp.gate_proj.weight"], u=t[p + "mlp.up_proj.weight"], d=t[p + "mlp.down_proj.weight"],
                 o=t[p + "self_attn.o_proj.weight"])
        for b in "qkv":
            L[b] = t[p + "self_attn.%s_proj.weight" % b]
            L["b" + b] = t.get(p + "self_attn.%s_proj.bias" % b)
        w["layers"].append(L)
    return hp, w


def inv_freq(hp):
    d = hp["head_dim"]
    f = 1.0 / hp["theta"] ** (np.arange(0, d, 2) / d)
    if "freq_factors" in hp:
        f = f / hp["freq_factors"]
    if "llama3" in hp:
        r = hp["llama3"]
        orig, lo, hi, factor = r["original_max_position_embeddings"], r["low_freq_factor"], r["high_freq_factor"], r["factor"]
        wavelen = 2 * np.pi / f
        smooth = (orig / wavelen - lo) / (hi - lo)
        scaled = np.where(wavelen > orig / lo, f / factor, f)
        mid = (wavelen <= orig / lo) & (wavelen >= orig / hi)
        f = np.where(mid, (1 - smooth) * f / factor + smooth * f, scaled)
    return f


def rope(x, pos, hp):  # x: [n, heads, d]
    ang = pos[:, None] * inv_freq(hp)[None, :]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    h = hp["head_dim"] // 2
    a, b = (x[..., :h], x[..., h:]) if hp["neox"] else (x[..., 0::2], x[..., 1::2])
    ra, rb = a * c - b * s, a * s + b * c
    out = np.empty_like(x)
    if hp["neox"]:
        out[..., :h], out[..., h:] = ra, rb
    else:
        out[..., 0::2], out[..., 1::2] = ra, rb
    return out


def forward(hp, w, ids):
    n, hd, nh, nkv = len(ids), hp["head_dim"], hp["n_head"], hp["n_kv"]
    norm = lambda x, g: x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + hp["eps"]) * g
    lin = lambda x, m, b=None: x @ m.T.astype(np.float64) + (0 if b is None else b)
    pos = np.arange(n, dtype=np.float64)
    mask = np.triu(np.full((n, n), -np.inf), 1)
    x = w["embed"][ids].astype(np.float64)
    for L in w["layers"]:
        h = norm(x, L["an"])
        q = rope(lin(h, L["q"], L["bq"]).reshape(n, nh, hd), pos, hp)
        k = rope(lin(h, L["k"], L["bk"]).reshape(n, nkv, hd), pos, hp)
        v = lin(h, L["v"], L["bv"]).reshape(n, nkv, hd)
        att = np.empty((n, nh, hd))
        for hh in range(nh):
            kv = hh // (nh // nkv)
            s = q[:, hh] @ k[:, kv].T / np.sqrt(hd) + mask
            p = np.exp(s - s.max(axis=1, keepdims=True))
            att[:, hh] = (p / p.sum(axis=1, keepdims=True)) @ v[:, kv]
        x = x + lin(att.reshape(n, nh * hd), L["o"])
        h = norm(x, L["fn"])
        g = lin(h, L["g"])
        x = x + lin(g / (1 + np.exp(-g)) * lin(h, L["u"]), L["d"])
    return lin(norm(x, w["norm"]), w["out"])


def main():
    model, ids, out = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3]
    hp, w = from_hf(model) if os.path.isdir(model) else from_gguf(model)
    forward(hp, w, ids).astype("<f4").tofile(out)


if __name__ == "__main__":
    main()
