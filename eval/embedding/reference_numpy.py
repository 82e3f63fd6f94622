#!/usr/bin/env python3
"""numpy reference of the all-MiniLM-L6-v2 forward pass used by EngramEmbedding.

Same computation as Sources/EngramEmbedding/BertModel.swift: word + position + token-type-0
embeddings, LayerNorm, 6 post-LayerNorm BERT layers (12 heads of 32, exact erf GELU,
eps 1e-12), mean pooling over the attention mask, L2 normalisation. Weights come from
model.safetensors (the `safetensors` numpy loader when installed, else the header is parsed here).

Modes (one JSON object on stdout):
  --check FILE.jsonl        embed the reference token ids, report min cosine to the reference
  --bench-input FILE.json   time the token-id sequences the Swift bench passes
                            ({"lengths": {"8": [ids], ...}, "short": [[ids], ...]}): median ms per
                            text per length, 32 short texts as one padded batch and as 32 calls.
Run with OPENBLAS_NUM_THREADS=1 for a one-thread comparison (the Swift bench sets it).
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np

try:
    from scipy.special import erf as _erf
except ImportError:  # exact but slow fallback
    _erf = np.vectorize(math.erf, otypes=[np.float32])

H, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12
DH = H // HEADS


def load_safetensors(path):
    try:
        from safetensors.numpy import load_file
        return load_file(path)
    except ImportError:
        pass
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return out


class MiniLM:
    def __init__(self, model_dir):
        w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        g = lambda k: np.ascontiguousarray(w[k], dtype=np.float32)
        self.word = g("embeddings.word_embeddings.weight")
        self.pos = g("embeddings.position_embeddings.weight")
        self.type0 = g("embeddings.token_type_embeddings.weight")[0]
        self.ln = (g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"))
        self.layers = []
        for l in range(LAYERS):
            p = f"encoder.layer.{l}."
            wqkv = np.concatenate([g(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]).T.copy()
            bqkv = np.concatenate([g(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self.layers.append(dict(
                wqkv=wqkv, bqkv=bqkv,
                wo=g(p + "attention.output.dense.weight").T.copy(), bo=g(p + "attention.output.dense.bias"),
                ln1=(g(p + "attention.output.LayerNorm.weight"), g(p + "attention.output.LayerNorm.bias")),
                wi=g(p + "intermediate.dense.weight").T.copy(), bi=g(p + "intermediate.dense.bias"),
                wo2=g(p + "output.dense.weight").T.copy(), bo2=g(p + "output.dense.bias"),
                ln2=(g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"))))

    @staticmethod
    def layer_norm(x, gb):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + EPS) * gb[0] + gb[1]

    def embed_batch(self, seqs):
        """Padded batch [B, L] with an attention mask; returns [B, 384] normalised."""
        B, L = len(seqs), max(len(s) for s in seqs)
        ids = np.zeros((B, L), dtype=np.int64)
        mask = np.zeros((B, L), dtype=np.float32)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = s
            mask[i, :len(s)] = 1
        x = self.word[ids] + self.pos[:L][None] + self.type0
        x = self.layer_norm(x, self.ln).reshape(B * L, H)
        neg = ((1 - mask) * np.float32(-1e9))[:, None, None, :]  # [B,1,1,L] on masked keys
        scale = np.float32(1 / math.sqrt(DH))
        for w in self.layers:
            qkv = x @ w["wqkv"] + w["bqkv"]
            q, k, v = (qkv[:, i * H:(i + 1) * H].reshape(B, L, HEADS, DH).transpose(0, 2, 1, 3) for i in range(3))
            s = (q @ k.transpose(0, 1, 3, 2)) * scale + neg
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(B * L, H)
            x = self.layer_norm(x + ctx @ w["wo"] + w["bo"], w["ln1"])
            h = x @ w["wi"] + w["bi"]
            h = np.float32(0.5) * h * (np.float32(1) + _erf(h * np.float32(1 / math.sqrt(2))).astype(np.float32))
            x = self.layer_norm(x + h @ w["wo2"] + w["bo2"], w["ln2"])
        x = x.reshape(B, L, H)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def embed(self, ids):
        return self.embed_batch([ids])[0]


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=os.environ.get("ENGRAM_MODEL_DIR", "models/all-MiniLM-L6-v2"))
    ap.add_argument("--check")
    ap.add_argument("--bench-input")
    args = ap.parse_args()
    model = MiniLM(args.model_dir)
    result = {"blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "numpy": np.__version__}
    if args.check:
        cos = []
        for line in open(args.check):
            r = json.loads(line)
            e = model.embed(r["token_ids"])
            ref = np.asarray(r["embedding"], dtype=np.float64)
            cos.append(float(e @ ref / np.linalg.norm(ref)))
        result.update(texts=len(cos), min_cosine=min(cos))
    if args.bench_input:
        spec = json.load(open(args.bench_input))
        result["ms"], result["vectors"] = {}, {}
        for n, ids in spec["lengths"].items():
            model.embed(ids)
            reps = 41 if int(n) <= 32 else (15 if int(n) <= 128 else 9)
            result["ms"][n] = median_ms(lambda: model.embed(ids), reps)
            result["vectors"][n] = [float(v) for v in model.embed(ids)]
        short = spec.get("short") or []
        if short:
            model.embed_batch(short)
            result["batch32_ms"] = median_ms(lambda: model.embed_batch(short), 7)
            result["single32_ms"] = median_ms(lambda: [model.embed(s) for s in short], 7)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
