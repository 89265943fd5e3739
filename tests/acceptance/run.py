#!/usr/bin/env python3
"""The independent acceptance readers of ../shared/tools against vaultwire's release binary:
check_modes.py (what each mode must do to a render) and agent_proof.py (mount mode through a real
OpenBao agent). Their own property is independence: code this project did not write reads the
output. The gate runs them on the sample of tests/sample.json; `--all` runs every shared fixture
(run it when a change touches what a mode does; the Rust integration tests prove every fixture x
every mode in every run). Two at a time. Ends with `acceptance: N passed, M failed`.

usage: run.py BIN [--all]
"""
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "tests"))
from tally import Tally  # noqa: E402

FIXTURES = SHARED / "fixtures"
SAMPLE = json.loads((REPO / "tests" / "sample.json").read_text())
PORTKEY_KEYS = SAMPLE["portkeyKeys"]
PORTKEY_ARGS = ["--secret", "portkey-gateway-env", "--vault-path", "kv/data/portkey/gateway/config",
                "--role", "portkey-gateway"]
CHART_ARGS = ["--secret", "vault-synced", "--vault-path", "kv/data/app/config", "--role", "app"]


def keyargs(keys):
    return [a for k in keys for a in ("--key", k)]


def reader(tool, *args):
    return [sys.executable, str(SHARED / "tools" / tool), *map(str, args)]


def conflict_refused(binary, fixture):
    """A render whose chart sets its own injector role: mount mode with another role must stop,
    naming the conflicting annotation, with nothing on stdout. (agent_proof.py asks for role
    'app' and fills only its own path, so the agent proof of those renders is tests/e2e's.)"""
    with open(fixture, "rb") as stdin, tempfile.TemporaryFile() as out:
        p = subprocess.run([binary, "-m", "mount", "--vault-path", "kv/data/app/config", "--role", "app",
                            "-k", "PORTKEY_CLIENT_AUTH"], stdin=stdin, stdout=out, stderr=subprocess.PIPE)
        out.seek(0)
        written = out.read()
    err = p.stderr.decode()
    if p.returncode != 0 and not written and "conflicting annotation vault.hashicorp.com/role" in err:
        return True, "conflict refused: " + err.strip()[:100]
    return False, f"expected a role conflict, got exit {p.returncode}, {len(written)} bytes out: {err[:200]}"


def checks(binary, everything):
    """(label, command or callable) for every check of the sample, or of every fixture."""
    portkey = sorted(FIXTURES.glob("portkey/*.yaml")) if everything else [
        FIXTURES / "portkey" / name for name in SAMPLE["portkey"]]
    modes = ["partial", "mount", "full", "A", "B", "C"] if everything else ["partial", "mount", "full"]
    for f in portkey:
        for m in modes:
            yield f"{f.name} {m}", reader("check_modes.py", binary, f, m, *PORTKEY_ARGS, *keyargs(PORTKEY_KEYS))
        if "vault.hashicorp.com/role" in f.read_text():
            yield f"{f.name} conflict", lambda f=f: conflict_refused(binary, f)
        else:
            yield f"{f.name} agent", reader("agent_proof.py", binary, f, *PORTKEY_KEYS)
    for chart, spec in SAMPLE["charts"].items():
        shapes = ["helm4-stdin", "manifest"] if everything else ["helm4-stdin"]
        for f in (FIXTURES / "charts" / f"{chart}.{shape}.yaml" for shape in shapes):
            for m in ("partial", "full"):
                yield f"{f.name} {m}", reader("check_modes.py", binary, f, m, *CHART_ARGS, *keyargs(spec["keys"]))
            yield f"{f.name} mount", reader("check_modes.py", binary, f, "mount", *CHART_ARGS,
                                            *keyargs(spec["mountKeys"]))
            yield f"{f.name} agent", reader("agent_proof.py", binary, f, *spec["mountKeys"])


def run(check):
    label, what = check
    if callable(what):
        ok, text = what()
    else:
        p = subprocess.run(what, capture_output=True, text=True, timeout=300)
        ok, text = p.returncode == 0, (p.stdout + p.stderr).strip()
    return label, ok, text


def main():
    binary = Path(sys.argv[1]).resolve()
    everything = "--all" in sys.argv[2:]
    tally = Tally()
    with ThreadPoolExecutor(2) as pool:
        for label, ok, text in pool.map(run, checks(binary, everything)):
            tally.check(ok, f"{label}: {text.splitlines()[-1] if ok and text else text}")
    return tally.end("acceptance")


if __name__ == "__main__":
    sys.exit(main())
