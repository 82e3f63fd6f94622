"""`make audit`: pip-audit over the pinned Python requirements, skipped (one line, exit 0) when the
vulnerability service cannot be reached, failing (exit 1) when a pinned package has a known vulnerability.

    python3 Tests/audit_requirements.py [--service pypi|osv] [--osv-url URL] [--pip-audit PATH] FILE...

pip-audit itself is installed, hash-checked, from requirements-audit.txt into .venv/pip-audit (created on
first use; --pip-audit PATH uses another copy). Each FILE is audited as pinned (`--disable-pip`: the files
are complete and hashed, so nothing is resolved or installed to audit them).

What counts as unreachable: the service does not answer a probe (PyPI's JSON API for `pip`, or an OSV query),
or pip-audit could not audit a single package. Packages the service does not know are listed, not failed.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
VENV = REPO / ".venv" / "pip-audit"
AUDIT_REQUIREMENTS = REPO / "requirements-audit.txt"
# The endpoint pip-audit asks (per release), for a release that exists.
PYPI_PROBE = "https://pypi.org/pypi/pip/23.0/json"
PYPI_INDEX_PROBE = "https://pypi.org/simple/pip-audit/"
OSV_DEFAULT = "https://api.osv.dev/v1/query"


def say(line):
    print(f"audit: {line}", flush=True)


def probe(service, osv_url, timeout):
    """None when the service answers, else why not."""
    try:
        if service == "index":
            req = urllib.request.Request(PYPI_INDEX_PROBE)
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
            return None
        if service == "osv":
            body = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "23.0"}).encode()
            req = urllib.request.Request(osv_url, data=body, headers={"Content-Type": "application/json"})
        else:
            req = urllib.request.Request(PYPI_PROBE)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            json.load(resp)
        return None
    except urllib.error.HTTPError as e:
        return f"{req.full_url} answered HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return f"{req.full_url}: {getattr(e, 'reason', e)}"


def ensure_pip_audit():
    exe = VENV / "bin" / "pip-audit"
    python = VENV / "bin" / "python"
    check = [sys.executable, str(REPO / "Tests" / "requirements_installed.py"), str(AUDIT_REQUIREMENTS)]
    if exe.exists() and subprocess.run([str(python), *check[1:]], capture_output=True).returncode == 0:
        return exe
    say(f"installing pip-audit (hash-checked, {AUDIT_REQUIREMENTS.name}) into {VENV.relative_to(REPO)}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    "--require-hashes", "-r", str(AUDIT_REQUIREMENTS)], check=True)
    return exe


def audit(exe, path, service, osv_url, timeout):
    """(report or None, stderr) for one requirements file."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "report.json"
        cmd = [str(exe), "--disable-pip", "--progress-spinner", "off", "--timeout", str(int(timeout)),
               "-s", service, "--cache-dir", str(pathlib.Path(tmp) / "cache"), "-f", "json", "-o", str(out), "-r", str(path)]
        if service == "index":
            req = urllib.request.Request(PYPI_INDEX_PROBE)
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
            return None
        if service == "osv":
            cmd += ["--osv-url", osv_url]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        report = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
        return report, proc.stderr.strip()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    parser.add_argument("--service", choices=["pypi", "osv"], default=os.environ.get("AUDIT_SERVICE", "pypi"))
    parser.add_argument("--osv-url", default=OSV_DEFAULT)
    parser.add_argument("--pip-audit", type=pathlib.Path, help="use this pip-audit instead of .venv/pip-audit")
    parser.add_argument("--timeout", type=float, default=15)
    args = parser.parse_args(argv)
    where = args.osv_url if args.service == "osv" else "PyPI's JSON API"

    exe = args.pip_audit
    if exe is None:
        try:
            exe = ensure_pip_audit()
        except subprocess.CalledProcessError:
            why = probe("index", args.osv_url, args.timeout)
            if why:
                say(f"SKIPPED: cannot install pip-audit, PyPI unreachable ({why})")
                return 0
            raise
    why = probe(args.service, args.osv_url, args.timeout)
    if why:
        say(f"SKIPPED: vulnerability service unreachable ({why}); {len(args.files)} requirements files not audited")
        return 0

    audited, found, unknown = 0, [], []
    for path in args.files:
        report, stderr = audit(exe, path, args.service, args.osv_url, args.timeout)
        if report is None:
            why = probe(args.service, args.osv_url, args.timeout)
            if why:
                say(f"SKIPPED: vulnerability service unreachable during the audit ({why})")
                return 0
            say(f"FAILED: pip-audit could not audit {path.name}: {stderr.splitlines()[-1] if stderr else 'no report'}")
            return 1
        for dep in report["dependencies"]:
            if "skip_reason" in dep:
                unknown.append(f"{dep['name']} ({dep['skip_reason']})")
                continue
            audited += 1
            for vuln in dep.get("vulns", []):
                fixes = ", ".join(vuln.get("fix_versions") or []) or "none yet"
                found.append(f"{path.name}: {dep['name']}=={dep['version']} {vuln['id']} (fixed in: {fixes})")

    if found:
        say(f"FAILED: {len(found)} known vulnerabilities in pinned packages ({where}):")
        for line in found:
            print(f"  {line}")
        print("  Raise the pin in the .in file and regenerate (see the top of the .txt), or remove the package.")
        return 1
    if audited == 0:
        say(f"SKIPPED: the vulnerability service ({where}) audited no package: {'; '.join(unknown[:3])}")
        return 0
    names = ", ".join(p.name for p in args.files)
    say(f"{audited} pinned packages in {names}: no known vulnerabilities ({where})")
    if unknown:
        say(f"not audited ({len(unknown)}): " + "; ".join(unknown))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
