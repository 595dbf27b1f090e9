"""Python MLX reference for the `chat` example: the same Llama forward pass, greedy decoding.

Reads a Llama GGUF (such as SmolLM2-135M-Instruct.Q4_1.gguf) with mx.load, runs the prompt
token ids through the model in one pass, then decodes greedily one token at a time with a
key/value cache, and prints one JSON object per prompt:

    {"tokens": [...], "prompt_tps": ..., "gen_tps": ...}

Usage:
    python3 reference.py MODEL.gguf --prompt 1,2,3 [--prompt 4,5] [--max-tokens 24]
                         [--logits-out PREFIX] [--stop 2]

--logits-out PREFIX saves the logits of the first generated position of prompt i to
PREFIX{i}.npy (float32, shape [vocab]). The Rust integration test (crates/mlx/tests/chat.rs) compares against this.
"""

import argparse
import json
import time

import mlx.core as mx


def scalar(meta, key):
    return meta[key].item()


class QuantLinear:
    """A weight stored as MLX's affine quantized triple (packed uint32, scales, biases)."""

    def __init__(self, tensors, prefix, in_dims):
        self.w = tensors[prefix + ".weight"]
        self.scales = tensors[prefix + ".scales"]
        self.biases = tensors[prefix + ".biases"]
        self.group_size = in_dims // self.scales.shape[-1]
        self.bits = self.w.shape[-1] * 32 // in_dims

    def __call__(self, x):
        return mx.quantized_matmul(
            x,
            self.w,
            self.scales,
            self.biases,
            transpose=True,
            group_size=self.group_size,
            bits=self.bits,
        )

    def rows(self, ids):
        return mx.dequantize(
            self.w[ids],
            self.scales[ids],
            self.biases[ids],
            group_size=self.group_size,
            bits=self.bits,
        )


class Model:
    def __init__(self, tensors, meta):
        arch = meta["general.architecture"]

        def hp(name):
            return scalar(meta, f"{arch}.{name}")

        self.dim = hp("embedding_length")
        self.n_layers = hp("block_count")
        self.n_heads = hp("attention.head_count")
        self.n_kv_heads = hp("attention.head_count_kv")
        self.ffn = hp("feed_forward_length")
        self.eps = hp("attention.layer_norm_rms_epsilon")
        self.theta = hp("rope.freq_base")
        self.head_dim = self.dim // self.n_heads
        self.rope_dims = hp("rope.dimension_count")
        self.embed = QuantLinear(tensors, "token_embd", self.dim)
        if "output.weight" in tensors:
            self.out = QuantLinear(tensors, "output", self.dim)
        else:
            self.out = self.embed  # tied embeddings
        self.out_norm = tensors["output_norm.weight"]
        self.layers = []
        for i in range(self.n_layers):
            p = f"blk.{i}."
            self.layers.append(
                {
                    "attn_norm": tensors[p + "attn_norm.weight"],
                    "ffn_norm": tensors[p + "ffn_norm.weight"],
                    "q": QuantLinear(tensors, p + "attn_q", self.dim),
                    "k": QuantLinear(tensors, p + "attn_k", self.dim),
                    "v": QuantLinear(tensors, p + "attn_v", self.dim),
                    "o": QuantLinear(tensors, p + "attn_output", self.dim),
                    "gate": QuantLinear(tensors, p + "ffn_gate", self.dim),
                    "up": QuantLinear(tensors, p + "ffn_up", self.dim),
                    "down": QuantLinear(tensors, p + "ffn_down", self.ffn),
                }
            )

    def attention(self, layer, x, cache, offset):
        b, t, _ = x.shape
        q = layer["q"](x).reshape(b, t, self.n_heads, self.head_dim).transpose(0, 2, 1, 3)
        k = layer["k"](x).reshape(b, t, self.n_kv_heads, self.head_dim).transpose(0, 2, 1, 3)
        v = layer["v"](x).reshape(b, t, self.n_kv_heads, self.head_dim).transpose(0, 2, 1, 3)
        # llama.cpp's converter stores Q and K rows for the interleaved ("traditional") layout.
        q = mx.fast.rope(q, self.rope_dims, traditional=True, base=self.theta, scale=1.0, offset=offset)
        k = mx.fast.rope(k, self.rope_dims, traditional=True, base=self.theta, scale=1.0, offset=offset)
        if cache is not None:
            k = mx.concatenate([cache[0], k], axis=2)
            v = mx.concatenate([cache[1], v], axis=2)
        mask = "causal" if t > 1 else None
        o = mx.fast.scaled_dot_product_attention(q, k, v, scale=self.head_dim**-0.5, mask=mask)
        o = o.transpose(0, 2, 1, 3).reshape(b, t, self.dim)
        return layer["o"](o), (k, v)

    def __call__(self, ids, caches, offset):
        h = self.embed.rows(ids).astype(mx.float32)
        new_caches = []
        for layer, cache in zip(self.layers, caches):
            a, kv = self.attention(layer, mx.fast.rms_norm(h, layer["attn_norm"], self.eps), cache, offset)
            h = h + a
            x = mx.fast.rms_norm(h, layer["ffn_norm"], self.eps)
            gate = layer["gate"](x)
            h = h + layer["down"](gate * mx.sigmoid(gate) * layer["up"](x))
            new_caches.append(kv)
        h = mx.fast.rms_norm(h, self.out_norm, self.eps)
        return self.out(h[:, -1:, :])[:, 0, :], new_caches


def generate(model, prompt, max_tokens, stop, logits_out=None):
    caches = [None] * model.n_layers
    start = time.perf_counter()
    logits, caches = model(mx.array([prompt]), caches, 0)
    token = mx.argmax(logits, axis=-1)
    mx.eval(token, caches)
    prompt_time = time.perf_counter() - start
    if logits_out is not None:
        mx.save(logits_out, logits[0].astype(mx.float32))
    out = [token.item()]
    start = time.perf_counter()
    while len(out) < max_tokens and out[-1] not in stop:
        offset = len(prompt) + len(out) - 1
        logits, caches = model(token[:, None], caches, offset)
        token = mx.argmax(logits, axis=-1)
        mx.eval(token, caches)
        out.append(token.item())
    gen_time = time.perf_counter() - start
    return {
        "tokens": out,
        "prompt_tps": len(prompt) / prompt_time,
        "gen_tps": (len(out) - 1) / gen_time if len(out) > 1 else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gguf")
    ap.add_argument("--prompt", action="append", required=True, help="comma-separated token ids")
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--stop", type=int, action="append", default=[], help="stop token id(s)")
    ap.add_argument("--logits-out")
    args = ap.parse_args()

    mx.random.seed(0)
    tensors, meta = mx.load(args.gguf, return_metadata=True)
    model = Model(tensors, meta)
    mx.eval(tensors)
    for i, p in enumerate(args.prompt):
        ids = [int(t) for t in p.split(",")]
        logits_out = f"{args.logits_out}{i}.npy" if args.logits_out else None
        res = generate(model, ids, args.max_tokens, set(args.stop), logits_out)
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
