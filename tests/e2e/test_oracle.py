"""vault-k8s's own injector code (tests/injector-oracle) as the oracle: what it does with the
annotations vaultwire writes, and what `bao agent` renders from the config it produces."""

import os

import pytest

import oracle
from conftest import ROOT_TOKEN

P = "vault.hashicorp.com/"
PATH = "kv/app"  # `bao kv put -mount=kv app`; the agent reads it as kv/data/app
TEMPLATE = '{{ with secret "kv/data/app" }}{{ .Data.data.password }}{{ end }}'
# what a shell, a YAML or JSON writer or a template engine would be tempted to touch
AWKWARD = "it's \"quoted\" $HOME `id`\nline two; a & b | c * {{ x }} \\ 100%"


def pod(**extra):
    """A chart's pod with one secret rendered to DB_PASSWORD, and a chart init container.
    extra: annotation suffix (under vault.hashicorp.com/) -> value, None to drop it."""
    a = {
        "agent-inject": "true",
        "role": "app",
        "agent-inject-secret-db": "kv/data/app",
        "agent-inject-template-db": TEMPLATE,
        "agent-inject-file-db": "DB_PASSWORD",
        "error-on-missing-key-db": "true",
    }
    a.update(extra)
    return {
        "metadata": {"name": "app", "annotations": {P + k: v for k, v in a.items() if v is not None}},
        "spec": {
            "initContainers": [{"name": "migrate", "image": "migrate:1"}],
            "containers": [{"name": "app", "image": "app:1"}],
        },
    }


def mounts(out, name):
    spec = out["pod"]["spec"]
    for c in spec.get("initContainers", []) + spec["containers"]:
        if c["name"] == name:
            return [m["mountPath"] for m in c.get("volumeMounts", [])]
    raise KeyError(name)


def test_agent_init_runs_after_the_charts_init_containers():
    out = oracle.mutate(pod())
    assert out["injected"]
    assert out["initContainers"] == ["migrate", "vault-agent-init"]
    assert out["containers"] == ["app", "vault-agent"]
    assert out["agentConfig"]["exit_after_auth"] is True
    assert out["sidecarConfig"]["exit_after_auth"] is False
    assert out["annotations"][P + "agent-inject-status"] == "injected"
    # every init container gets the secrets volume, even the one that runs before the agent
    assert "/vault/secrets" in mounts(out, "migrate")


def test_agent_init_first():
    out = oracle.mutate(pod(**{"agent-init-first": "true"}))
    assert out["initContainers"] == ["vault-agent-init", "migrate"]
    assert out["containers"] == ["app", "vault-agent"]
    assert "/vault/secrets" in mounts(out, "migrate")


def test_pre_populate_only_adds_no_sidecar():
    out = oracle.mutate(pod(**{"agent-pre-populate-only": "true"}))
    assert out["initContainers"] == ["migrate", "vault-agent-init"]
    assert out["containers"] == ["app"]
    assert out["sidecarConfig"] is None
    assert out["agentConfig"] is not None


def test_no_pre_populate_adds_no_init_container():
    out = oracle.mutate(pod(**{"agent-pre-populate": "false"}))
    assert out["initContainers"] == ["migrate"]
    assert out["agentConfig"] is None
    assert out["containers"] == ["app", "vault-agent"]


def test_the_injector_refuses_a_pod_without_a_role():
    with pytest.raises(oracle.OracleError, match="no Vault role found"):
        oracle.mutate(pod(role=None))


def test_template_destinations():
    cases = {
        (): "/vault/secrets/DB_PASSWORD",
        (("secret-volume-path-db", "/etc/app"),): "/etc/app/DB_PASSWORD",
        (("secret-volume-path", "/etc/app"),): "/etc/app/DB_PASSWORD",
        (("agent-inject-file-db", None),): "/vault/secrets/db",
        # the file name is joined under the volume path, even an absolute one
        (("agent-inject-file-db", "/abs/DB"),): "/vault/secrets/abs/DB",
    }
    for extra, dest in cases.items():
        out = oracle.mutate(pod(**dict(extra)))
        for config in (out["agentConfig"], out["sidecarConfig"]):
            assert [t["destination"] for t in config["template"]] == [dest], extra
            t = config["template"][0]
            assert (t["contents"], t["error_on_missing_key"]) == (TEMPLATE, True)


@pytest.mark.parametrize("which", ["agentConfig", "sidecarConfig"])
def test_bao_agent_renders_the_injectors_config_byte_for_byte(bao, tmp_path, which):
    bao.put(PATH, {"password": AWKWARD})
    out = oracle.mutate(pod(), vault_address="http://vault.vault.svc:8200")
    rc, log = oracle.render_with_bao(out[which], bao.addr, ROOT_TOKEN, str(tmp_path))
    assert rc == 0, log
    with open(tmp_path / "vault/secrets/DB_PASSWORD", "rb") as f:
        assert f.read() == AWKWARD.encode()


def test_secret_volume_path_moves_the_file(bao, tmp_path):
    bao.put(PATH, {"password": AWKWARD})
    out = oracle.mutate(pod(**{"secret-volume-path-db": "/etc/app"}))
    # the app container gets the extra volume at /etc/app besides /vault/secrets
    assert {"/vault/secrets", "/etc/app"} <= set(mounts(out, "app"))
    rc, log = oracle.render_with_bao(out["agentConfig"], bao.addr, ROOT_TOKEN, str(tmp_path))
    assert rc == 0, log
    with open(tmp_path / "etc/app/DB_PASSWORD", "rb") as f:
        assert f.read() == AWKWARD.encode()
    assert not os.path.exists(tmp_path / "vault/secrets/DB_PASSWORD")


def test_error_on_missing_key_fails_the_render(bao, tmp_path):
    bao.put(PATH, {"password": AWKWARD})
    out = oracle.mutate(pod(**{"agent-inject-template-db": TEMPLATE.replace("password", "nope")}))
    rc, log = oracle.render_with_bao(out["agentConfig"], bao.addr, ROOT_TOKEN, str(tmp_path))
    assert rc != 0 and "nope" in log, log
    assert not os.path.exists(tmp_path / "vault/secrets/DB_PASSWORD")
