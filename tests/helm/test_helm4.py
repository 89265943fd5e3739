"""vaultwire's postrenderer/v1 plugin through real Helm 4 (v4.2.x Go SDK in helm-python-sdk)."""

from __future__ import annotations

import pytest
import yaml

import helmenv
from fakeapi import FakeKubeAPI
from helmenv import EXAMPLES, helm4_install, sections

VAULT = "vault.hashicorp.com/"
SYNCED = "portkey-gateway-env"


def config_args(mode: str) -> list[str]:
    return ["-c", str(EXAMPLES / f"vaultwire-{mode}.yaml")]


@pytest.fixture(scope="module")
def baseline() -> dict[tuple[str, str], str]:
    """(kind, name) -> template file, from the same chart installed with no post-renderer."""
    release = helm4_install([], post_renderer=None)
    return {(d["kind"], d["metadata"]["name"]): src for src, d in sections(release["manifest"])}


def env_of(doc: dict, container: str | None = None) -> dict[str, object]:
    spec = doc["spec"]["template"]["spec"]
    return {
        e["name"]: e.get("value", e.get("valueFrom"))
        for c in spec["containers"]
        if container in (None, c["name"])
        for e in c.get("env", [])
    }


def pod_annotations(doc: dict) -> dict[str, str]:
    return doc["spec"]["template"]["metadata"].get("annotations") or {}


def reads_synced(value: object, key: str) -> bool:
    return value == {"secretKeyRef": {"name": SYNCED, "key": key}}


EXPECT = {
    # mode -> check of (env of gateway, env of dataservice, pod annotations of gateway)
    "partial": lambda gw, ds, ann: reads_synced(gw["PORTKEY_CLIENT_AUTH"], "PORTKEY_CLIENT_AUTH")
    and reads_synced(ds["CLICKHOUSE_PASSWORD"], "ANALYTICS_STORE_PASSWORD")
    and not any(k.startswith(VAULT) for k in ann),
    "mount": lambda gw, ds, ann: gw["PORTKEY_CLIENT_AUTH"] == "/vault/secrets/PORTKEY_CLIENT_AUTH"
    and ds["CLICKHOUSE_PASSWORD"] == "/vault/secrets/ANALYTICS_STORE_PASSWORD"
    and ann[VAULT + "agent-inject"] == "true"
    and ann[VAULT + "role"] == "portkey-gateway",
    "full": lambda gw, ds, ann: reads_synced(gw["PORTKEY_CLIENT_AUTH"], "PORTKEY_CLIENT_AUTH")
    and reads_synced(gw["LOG_STORE"], "LOG_STORE")
    and reads_synced(ds["CLICKHOUSE_USER"], "ANALYTICS_STORE_USER"),
}


@pytest.mark.parametrize("mode", ["partial", "mount", "full"])
def test_mode_through_real_helm4(mode, baseline):
    with FakeKubeAPI() as api:
        release = helm4_install(config_args(mode), api=api)
    assert release["status"] == "deployed"
    docs = sections(release["manifest"])
    by_id = {(d["kind"], d["metadata"]["name"]): d for _, d in docs}

    # the rewrites are in what Helm keeps
    gw, ds = by_id[("Deployment", "portkey-gateway")], by_id[("Deployment", "portkey-dataservice")]
    assert EXPECT[mode](env_of(gw), env_of(ds), pod_annotations(gw)), yaml.safe_dump(gw)
    assert ("Secret", "portkey-gateway") in by_id if mode != "full" else ("Secret", "portkey-gateway") not in by_id
    redis = by_id[("Deployment", "portkey-redis")]
    assert not any(k.startswith(VAULT) for k in pod_annotations(redis))

    # Helm grouped every document under its original template file and stripped the annotation
    assert "generated-by-postrender" not in release["manifest"]
    assert "postrenderer.helm.sh/postrender-filename" not in release["manifest"]
    for src, doc in docs:
        assert src == baseline[(doc["kind"], doc["metadata"]["name"])]

    # the hook Job went through the post-renderer too (Helm 4 pipes hooks; the SDK returns them
    # only from the stored release)
    (hook,) = [h for h in release["hooks"] if h["kind"] == "Job"]
    assert hook["path"] == "portkey-mini/templates/migrate-job.yaml"
    job = yaml.safe_load(hook["manifest"])
    job_env, job_ann = env_of(job), pod_annotations(job)
    if mode == "mount":
        assert job_ann[VAULT + "agent-pre-populate-only"] == "true"
        assert job_env["ANALYTICS_STORE_PASSWORD"] == "/vault/secrets/ANALYTICS_STORE_PASSWORD"
    else:
        assert reads_synced(job_env["ANALYTICS_STORE_PASSWORD"], "ANALYTICS_STORE_PASSWORD")


def test_added_documents_get_their_own_file():
    """A document vaultwire adds (an ESO ExternalSecret) sits under vaultwire's own file name."""
    args = config_args("partial") + [
        "--eso", "--vault-path", "kv/data/portkey/gateway/config", "--role", "portkey-gateway",
        "--vault-addr", "http://vault.vault:8200",
    ]
    docs = sections(helm4_install(args)["manifest"])
    added = [(src, d["kind"]) for src, d in docs if not src.startswith("portkey-mini/")]
    assert added == [("vaultwire/externalsecret.yaml", "ExternalSecret")]


def test_bad_config_fails_and_the_last_error_file_has_vaultwires_message(state_dir):
    import helm_python as helm

    last_error = state_dir / "vaultwire" / "last-error"
    with pytest.raises(helm.HelmError) as err:
        helm4_install(["-m", "bogus"])
    message = str(err.value)
    # Helm 4 names the plugin and says nothing of why ...
    assert f'plugin "{helmenv.POSTRENDERER}" exited with error' in message
    assert "bogus" not in message
    # ... so the wrapper kept vaultwire's own line where the README says it is
    assert last_error.read_text().strip() == (
        "vaultwire: unknown mode 'bogus': expected partial (A), mount (B) or full (C)"
    )
    # and a good run clears it, so it never describes an older failure
    helm4_install(config_args("mount"))
    assert not last_error.exists()


def test_helm4_refuses_empty_post_renderer_output():
    """Why the wrapper never prints nothing: Helm 4 fails the render (a plugin that prints nothing)."""
    import helm_python as helm

    with pytest.raises(helm.HelmError, match='post-renderer "prints-nothing" produced empty output'):
        helm4_install([], post_renderer="prints-nothing")


def test_a_chart_that_renders_nothing_installs(tmp_path):
    """Helm 4 sends an empty stream; the wrapper answers with a comment-only stream, which Helm
    takes as zero manifests (full mode would otherwise refuse a stream with no keys)."""
    chart = tmp_path / "nothing"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: nothing\nversion: 0.1.0\n")
    release = helm4_install(config_args("full"), chart=chart)
    assert release.get("manifest", "").strip() == ""  # the SDK omits an empty manifest
