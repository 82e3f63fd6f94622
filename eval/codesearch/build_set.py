#!/usr/bin/env python3
"""Builds the code-search evaluation set (eval/codesearch/README.md).

Documents: functions and methods of a fixed list of pure-Python standard-library modules,
each as a memory holding its signature, its docstring *without the summary sentence* and its
body (cut at --max-chars). Queries: the summary sentence of a sample of those docstrings, a
natural-language description of what the function does; the one relevant document is the
function it was taken from. Every other function is a distractor.

Deterministic for a given Python version; the set committed beside this script
(set.jsonl.gz) was built with CPython 3.11.7. Documents the secret filter refuses are left
out (--scan-cmd, e.g. "engram scan": exit 1 means refused), so every query has its answer
in the store.

    python3 eval/codesearch/build_set.py --scan-cmd ".build/release/engram scan" --out eval/codesearch/set.jsonl.gz
"""
import argparse
import ast
import gzip
import importlib.util
import json
import random
import re
import shlex
import subprocess
import sys
import textwrap

MODULES = [
    "argparse", "base64", "bisect", "calendar", "configparser", "copy", "csv", "dataclasses", "difflib",
    "email.utils", "email.message", "enum", "fnmatch", "fractions", "ftplib", "functools", "getopt", "gettext",
    "glob", "gzip", "heapq", "html", "http.client", "http.cookies", "imaplib", "inspect", "ipaddress",
    "json.decoder", "json.encoder", "logging", "logging.handlers", "mailbox", "mimetypes", "netrc", "ntpath",
    "optparse", "pathlib", "pickletools", "pkgutil", "platform", "plistlib", "posixpath", "pprint", "queue",
    "quopri", "random", "reprlib", "sched", "selectors", "shlex", "shutil", "smtplib", "socketserver",
    "statistics", "string", "tarfile", "tempfile", "textwrap", "threading", "tokenize", "trace", "traceback",
    "types", "typing", "urllib.parse", "urllib.request", "uuid", "wave", "weakref", "webbrowser", "zipfile",
]
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def summary_and_rest(doc):
    """The docstring's first sentence (or first paragraph line) and the rest."""
    doc = textwrap.dedent(doc).strip()
    paragraphs = doc.split("\n\n", 1)
    first = " ".join(paragraphs[0].split())
    rest = paragraphs[1] if len(paragraphs) > 1 else ""
    parts = SENTENCE_END.split(first, 1)
    if len(parts) > 1:
        first, tail = parts
        rest = (tail + "\n\n" + rest).strip()
    return first.strip(), rest.strip()


def functions(module_name):
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return
    source = open(spec.origin, encoding="utf-8").read()
    lines = source.splitlines()
    tree = ast.parse(source)

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, prefix + child.name + ".")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(child, clean=False)
                if not doc or child.name.startswith("__"):
                    continue
                summary, rest = summary_and_rest(doc)
                words = re.findall(r"[A-Za-z]+", summary)
                if len(words) < 5 or len(summary) > 200:
                    continue
                body_nodes = child.body[1:]  # without the docstring
                if not body_nodes:
                    continue
                signature = lines[child.lineno - 1].strip()
                body = "\n".join(lines[body_nodes[0].lineno - 1: child.end_lineno])
                text = signature + "\n"
                if rest:
                    text += '    """' + textwrap.indent(textwrap.dedent(rest), "    ").strip() + '"""\n'
                text += textwrap.dedent(body)
                yield f"{module_name}.{prefix}{child.name}", summary, text

    yield from visit(tree, "")


def refused(scan_cmd, text):
    if not scan_cmd:
        return False
    r = subprocess.run(shlex.split(scan_cmd), input=text.encode(), capture_output=True)
    return r.returncode == 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--queries", type=int, default=250)
    ap.add_argument("--max-chars", type=int, default=1500)
    ap.add_argument("--scan-cmd", default=None)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    docs, seen_summaries = [], set()
    for name in MODULES:
        for qualname, summary, text in functions(name):
            key = summary.lower()
            if key in seen_summaries:  # the same summary twice (overloads, copies) has no single answer
                continue
            seen_summaries.add(key)
            text = text[: a.max_chars]
            if refused(a.scan_cmd, text):
                print(f"left out (secret filter): {qualname}", file=sys.stderr)
                continue
            docs.append({"id": qualname, "summary": summary, "text": text})
    rng = random.Random(a.seed)
    asked = set(d["id"] for d in rng.sample(docs, min(a.queries, len(docs))))
    with gzip.open(a.out, "wt", encoding="utf-8") as f:
        for d in docs:
            row = {"id": d["id"], "text": d["text"]}
            if d["id"] in asked:
                row["query"] = d["summary"]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(docs)} documents, {len(asked)} queries -> {a.out} (Python {sys.version.split()[0]})", file=sys.stderr)


if __name__ == "__main__":
    main()
