"""vaultwire check against the same OpenBao: passes, a missing key, a denied path."""

import re

import pytest

from conftest import OTHER_KEYS, OTHER_PATH, PORTKEY, ROOT_TOKEN, vaultwire
from proofs import no_leak

FIXTURE = PORTKEY / "gateway-1.7.7-main--base.helm4-stdin.yaml"
KEYS = ["PORTKEY_CLIENT_AUTH", "ANALYTICS_STORE_USER", "ANALYTICS_STORE_PASSWORD", "REDIS_URL"]
K = [a for k in KEYS for a in ("-k", k)]
MOUNT = ["-m", "mount", "--role", "portkey-gateway", "--vault-path", "kv/data/portkey/gateway/config"]

pytestmark = pytest.mark.skipif(not FIXTURE.is_file(), reason=f"{FIXTURE} does not exist (CI always has ../shared)")


def wire(args):
    p = vaultwire(*args, stdin=FIXTURE.read_text())
    assert p.returncode == 0, p.stderr
    return p.stdout


def check(bao, stream, *args, token=ROOT_TOKEN):
    p = vaultwire("check", "--vault-addr", bao.addr, "--token", token, *args, stdin=stream)
    no_leak(p.stdout + p.stderr, bao, "vaultwire check")
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    return p, lines


def test_check_passes_on_mount_output(bao):
    p, lines = check(bao, wire([*MOUNT, *K]))
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(lines) == 8 and all(line.startswith("ok ") for line in lines), lines  # 4 keys x 2 pods
    for k in KEYS:
        assert any(f"key {k}" in line for line in lines)


def test_check_passes_on_partial_eso_output(bao):
    out = wire(["-m", "partial", "--secret", "portkey-gateway-env", "--eso", "--eso-create-store", "--role",
                "portkey-gateway", "--vault-addr", bao.addr, "--vault-path", "kv/data/portkey/gateway/config", *K])
    p, lines = check(bao, out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert lines and all(line.startswith("ok ") for line in lines), lines
    assert all("ExternalSecret" in line for line in lines)


def test_check_wires_first_with_a_mode(bao):
    p, lines = check(bao, FIXTURE.read_text(), *MOUNT, *K)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(lines) == 8 and all(line.startswith("ok ") for line in lines), lines


def test_check_fails_on_a_key_vault_lacks(bao):
    lacking = sorted(set(KEYS) - set(bao.data[OTHER_PATH]))
    assert lacking and set(OTHER_KEYS) < set(KEYS)
    other = ["-m", "mount", "--role", "portkey-gateway", "--vault-path", "kv/data/other/config", *K]
    p, lines = check(bao, FIXTURE.read_text(), *other)
    assert p.returncode == 1, p.stdout + p.stderr
    fails = [line for line in lines if line.startswith("FAIL")]
    assert all("kv/data/other/config" in line and "no such key" in line for line in fails), fails
    named = sorted({k for k in KEYS for line in fails if f"key {k}:" in line})
    assert named == lacking, fails
    assert len(fails) == 2 * len(lacking), fails  # gateway and dataservice pods
    assert all(line.startswith("ok ") for line in lines if line not in fails)


def test_check_fails_on_a_denied_path(bao):
    policy = 'path "kv/data/portkey/gateway/config" {\n  capabilities = ["read"]\n}\n'
    bao.cli("policy", "write", "portkey-gateway-only", "-", input=policy)
    token = bao.cli("token", "create", "-policy=portkey-gateway-only", "-field=token").strip()
    assert re.fullmatch(r"[A-Za-z0-9._-]+", token)
    # the token reads the allowed path ...
    p, lines = check(bao, wire([*MOUNT, *K]), token=token)
    assert p.returncode == 0, p.stdout + p.stderr
    # ... and is denied on a stream that reads kv/data/other/config (which holds data)
    other = wire(["-m", "mount", "--role", "portkey-gateway", "--vault-path", "kv/data/other/config", *K])
    p, lines = check(bao, other, token=token)
    assert p.returncode == 1, p.stdout + p.stderr
    fails = [line for line in lines if line.startswith("FAIL")]
    assert len(fails) == 8, lines
    assert all("kv/data/other/config" in line and "permission denied" in line for line in fails), fails
    assert token not in p.stdout + p.stderr
