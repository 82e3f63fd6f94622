"""Exits 0 when this Python has exactly the versions a pinned requirements file names, else 1.

    python3 Tests/requirements_installed.py requirements-test.txt [more.txt ...]

`make pydeps` runs it first and calls pip (with --require-hashes) only when something is missing or at
another version, so a prepared machine skips pip entirely.
"""
import importlib.metadata
import re
import sys

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    for line in open(path, encoding="utf-8"):
        m = PIN.match(line)
        if m:
            yield m.group(1), m.group(2)


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    installed = {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    missing = []
    for path in paths:
        for name, version in pins(path):
            have = installed.get(canonical(name))
            if have != version:
                missing.append(f"{name}=={version} (installed: {have or 'none'})")
    if missing:
        print("not installed as pinned: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
