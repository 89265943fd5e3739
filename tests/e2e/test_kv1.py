"""KV v1 on the project's own example, and the proofs catching what they should."""

import re

import pytest

from conftest import KV1_PATH, KV2_PATH, PORTKEY, REPO, vaultwire, vaultwire_eso_and_vso
from kube import load
from proofs import no_leak, prove_mount, prove_operators

EXAMPLE = REPO / "examples" / "portkey-mini.helm4-stdin.yaml"
KEYS = ["PORTKEY_CLIENT_AUTH", "ANALYTICS_STORE_USER", "ANALYTICS_STORE_PASSWORD", "REDIS_URL"]
KV1 = ["--kv-version", "1", "--vault-path", KV1_PATH, "--role", "portkey-gateway"]


def run(args, bao, both_operators=False):
    text = EXAMPLE.read_text()
    runner = vaultwire_eso_and_vso if both_operators else vaultwire
    p = runner(*args, *[a for k in KEYS for a in ("-k", k)], stdin=text)
    assert p.returncode == 0, p.stderr
    no_leak(p.stderr, bao, "vaultwire's stderr")
    return text, p.stdout


def test_kv1_mount(bao, workdir):
    text, out = run(["-m", "mount", *KV1], bao)
    assert ".Data.data." not in out and ".Data.PORTKEY_CLIENT_AUTH" in out
    # the migrate Job: the agent pre-populates and exits, no sidecar
    job = [d for d in load(out) if d.get("kind") == "Job"]
    assert job and job[0]["spec"]["template"]["metadata"]["annotations"].get(
        "vault.hashicorp.com/agent-pre-populate-only") == "true"
    prove_mount("example kv1 mount", text, out, KEYS, bao.data[KV1_PATH], bao, workdir)


def test_kv1_partial(bao):
    text, out = run(["-m", "partial", "--secret", "portkey-gateway-env", "--vault-addr", bao.addr, *KV1], bao,
                    both_operators=True)
    docs = load(out)
    store = next(d for d in docs if d["kind"] == "ClusterSecretStore")["spec"]["provider"]["vault"]
    assert (store["path"], store["version"]) == ("kv1", "v1")
    vss = next(d for d in docs if d["kind"] == "VaultStaticSecret")["spec"]
    assert (vss["mount"], vss["path"], vss["type"]) == ("kv1", "portkey/gateway/config", "kv-v1")
    synced = prove_operators("example kv1 partial", text, out, KEYS, bao.data[KV1_PATH], bao, "portkey-gateway-env")
    assert synced["portkey-gateway-env"] == {k: bao.data[KV1_PATH][k] for k in KEYS}


def test_kv2_example_mount(bao, workdir):
    text, out = run(["-c", str(REPO / "examples" / "vaultwire-mount.yaml")], bao)
    prove_mount("example kv2 mount (examples/vaultwire-mount.yaml)", text, out, KEYS, bao.data[KV2_PATH], bao, workdir)


OPTION_B = sorted(PORTKEY.glob("*option-b-mount-files*.helm4-stdin.yaml")) if PORTKEY.is_dir() else []


@pytest.mark.parametrize("fixture", OPTION_B or [pytest.param(None, marks=pytest.mark.skip(reason="no ../shared"))],
                         ids=[f.name[:-5] for f in OPTION_B] or None)
def test_proof_catches_the_lower_case_trap(fixture, bao, workdir):
    """The option-b render as the chart wrote it, proven like vaultwire's output: the agent
    writes /vault/secrets/portkey_client_auth, the env points to PORTKEY_CLIENT_AUTH, and the
    gateway keeps the path string as the secret. The proof must say so."""
    text = fixture.read_text()
    with pytest.raises(AssertionError) as e:
        prove_mount(fixture.name, text, text, KEYS, bao.data[KV2_PATH], bao, workdir)
    msg = str(e.value)
    assert "final environment differs" in msg
    assert "PORTKEY_CLIENT_AUTH: expected <vault PORTKEY_CLIENT_AUTH>, got '/vault/secrets/PORTKEY_CLIENT_AUTH'" in msg


def test_proof_catches_a_missing_operator_key(bao):
    """A VaultStaticSecret that syncs one key fewer than the ExternalSecret is caught."""
    text, out = run(["-m", "partial", "--secret", "portkey-gateway-env", "--vault-addr", bao.addr, *KV1], bao,
                    both_operators=True)
    tampered = re.sub(r"(?m)^ *- \^REDIS_URL\$\n", "", out)
    assert tampered != out
    with pytest.raises(AssertionError, match="ESO and VSO build different keys"):
        prove_operators("tampered", text, tampered, KEYS, bao.data[KV1_PATH], bao, "portkey-gateway-env")
