"""The sampled Portkey renders (tests/sample.json) x every mode, proven against a real OpenBao:
mount through a real agent (renders whose chart sets its own injector role included, which
../shared/tools/agent_proof.py cannot fill), partial and full through ESO's and VSO's rules.
Every render x every mode is the Rust integration tests' (tests/it/shared_fixtures.rs)."""

import json

import pytest
import yaml

from conftest import KV2_PATH, PORTKEY, REPO, vaultwire, vaultwire_eso_and_vso
from kube import load
from proofs import no_leak, operator_secret, prove_mount, prove_operators, uncovered_reads

SAMPLE = json.loads((REPO / "tests" / "sample.json").read_text())
KEYS = SAMPLE["portkeyKeys"]
ROLE = "portkey-gateway"
SECRET = "portkey-gateway-env"
VAULT_PATH = "kv/data/portkey/gateway/config"

FIXTURES = [PORTKEY / f for f in SAMPLE["portkey"]] if PORTKEY.is_dir() else []
NO_SHARED = pytest.mark.skip(reason=f"{PORTKEY} does not exist (CI always has ../shared)")


def params(mode):
    if not FIXTURES:
        # ids are MODE-FIXTURE, as conftest's summary reads them
        return [pytest.param(None, id=f"{mode}-no-shared", marks=NO_SHARED)]
    return [pytest.param(f, id=f"{mode}-{f.name[:-5]}") for f in FIXTURES]


def scenario_keys(fixture):
    """full mode: every key of the fixture's values file environment.data, less PORT and
    SERVICE_NAME: where the chart renders every value as a literal (lookup), the gateway's and the
    dataservice's own PORT and SERVICE_NAME are two settings under one name, which vaultwire
    refuses to merge into one Vault field."""
    scenario = fixture.name.split("--", 1)[1].split(".", 1)[0]
    values = yaml.safe_load((PORTKEY / "values" / f"{scenario}.yaml").read_text())
    return [k for k in values["environment"]["data"] if k not in ("PORT", "SERVICE_NAME")]


_cache = {}


def transform(fixture, mode, bao):
    key = (fixture, mode)
    if key not in _cache:
        keys = scenario_keys(fixture) if mode == "full" else KEYS
        args = ["-m", mode, "--vault-path", VAULT_PATH, "--role", ROLE]
        if mode != "mount":
            args += ["--secret", SECRET, "--vault-addr", bao.addr]
        for k in keys:
            args += ["-k", k]
        text = fixture.read_text()
        p = (vaultwire if mode == "mount" else vaultwire_eso_and_vso)(*args, stdin=text)
        assert p.returncode == 0, f"vaultwire {' '.join(args)}: exit {p.returncode}: {p.stderr}"
        no_leak(p.stderr, bao, "vaultwire's stderr")
        _cache[key] = (text, p.stdout, keys)
    return _cache[key]


@pytest.mark.parametrize("fixture", params("mount"))
def test_mount(fixture, bao, workdir):
    text, out, keys = transform(fixture, "mount", bao)
    prove_mount(fixture.name, text, out, keys, bao.data[KV2_PATH], bao, workdir)


@pytest.mark.parametrize("fixture", params("partial"))
def test_operators_partial(fixture, bao):
    text, out, keys = transform(fixture, "partial", bao)
    prove_operators(fixture.name, text, out, keys, bao.data[KV2_PATH], bao, SECRET)


@pytest.mark.parametrize("fixture", params("full"))
def test_operators_full(fixture, bao):
    text, out, keys = transform(fixture, "full", bao)
    prove_operators(fixture.name, text, out, keys, bao.data[KV2_PATH], bao, SECRET)


@pytest.mark.parametrize("fixture", params("partial") + params("full"))
def test_synced_secret_has_every_key_the_env_reads(fixture, request, bao):
    """The Secret the operator builds (and owns: creationPolicy Owner / VSO create) holds every
    key the wired env reads from it by a non-optional secretKeyRef; otherwise the kubelet
    refuses to start the container (CreateContainerConfigError)."""
    mode = request.node.callspec.id.split("-", 1)[0]
    _, out, _ = transform(fixture, mode, bao)
    synced = operator_secret(fixture.name, load(out), bao, SECRET)[SECRET]
    missing = uncovered_reads(load(out), synced, SECRET)
    assert not missing, (f"{fixture.name} {mode}: the env reads {len(missing)} keys from {SECRET} that the "
                         f"ExternalSecret/VaultStaticSecret do not sync:\n  " + "\n  ".join(missing))
