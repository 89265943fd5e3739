"""What the CLI cannot show: the hooks of a *stored* release. Helm 4's Go SDK (PyPI
helm-python-sdk, Helm 4.2.3) really installs the example into the Kubernetes API fake and reads the
release back; its hooks must be the post-rendered ones, each under its template file.

The SDK reads HELM_PLUGINS once, when its library loads, so each install runs in a child process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml

from fakeapi import FakeKubeAPI
from helmenv import CHART, HERE, NAMESPACE, PLUGIN_SRC, RELEASE, VAULT, config, pod_annotations

INSTALL = textwrap.dedent("""\
    import json, sys
    import helm_python as helm
    from helm_python import _native
    api, chart, release, namespace, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    opts = {"namespace": namespace, "dry_run": "none", "disable_hooks": True,
            "disable_openapi_validation": True, "post_renderer": "vaultwire-post-renderer",
            "post_renderer_args": args}
    cfg_opts = {"namespace": namespace, "storage_driver": "memory", "kube_apiserver": api,
                "kubeconfig_content": "apiVersion: v1\\nkind: Config\\n"}
    with helm.Config(**cfg_opts) as cfg, helm.Chart.load(chart) as loaded:
        _native.call_string("helm_install", cfg._raw(), _native.HANDLE(0), loaded._raw(), None, release,
                            None, json.dumps(opts))
        print(json.dumps(cfg.get_all(release).get("hooks", [])))
""")


@pytest.mark.parametrize("mode", ["mount", "full"])
def test_stored_release_hooks_are_post_rendered(helm4, mode):
    done = helm4.install_plugin(PLUGIN_SRC / "postrenderer")
    assert done.returncode == 0, done.stderr
    with FakeKubeAPI() as api:
        child = subprocess.run(
            [sys.executable, "-c", INSTALL, api, str(CHART), RELEASE, NAMESPACE, "-c", config(mode)],
            capture_output=True, text=True, env=helm4.env(PATH=f"{HERE.parents[1]}/target/release:/usr/bin:/bin"),
            timeout=300,
        )
    assert child.returncode == 0, child.stderr
    (hook,) = [h for h in json.loads(child.stdout) if h["kind"] == "Job"]
    assert hook["path"] == "portkey-mini/templates/migrate-job.yaml"
    job = yaml.safe_load(hook["manifest"])
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    if mode == "mount":
        assert pod_annotations(job)[VAULT + "agent-pre-populate-only"] == "true"
        assert env["ANALYTICS_STORE_PASSWORD"] == "/vault/secrets/ANALYTICS_STORE_PASSWORD"
    else:
        assert env["ANALYTICS_STORE_PASSWORD"] == {
            "secretKeyRef": {"name": "portkey-gateway-env", "key": "ANALYTICS_STORE_PASSWORD"}}
    assert "postrenderer.helm.sh/postrender-filename" not in hook["manifest"]
