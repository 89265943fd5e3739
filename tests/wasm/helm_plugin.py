"""The EXPERIMENTAL Helm 4 Wasm plugin under an Extism host (the `extism` package from PyPI),
called the way Helm calls a postrenderer/v1 plugin, with `manifests` as a string: its output must
equal the native CLI's for the same config, its errors the CLI's text; and on the shape Helm
through 4.3.1 sends ({"manifests":{}}, helm/helm#31832) it must fail naming the bug and the
subprocess plugin, never return empty output. The streams are the inputs of the parity sample
that tests/wasm/parity.mjs defines and writes to PARITY_DIR/cases.json.

usage: python3 helm_plugin.py PLUGIN_DIR NATIVE_BIN PARITY_DIR
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import extism

plugin_dir, native, parity = sys.argv[1:]
with open(os.path.join(parity, "cases.json"), encoding="utf-8") as f:
    streams = list(dict.fromkeys(case["input"] for case in json.load(f)))
manifest_text = open(os.path.join(plugin_dir, "plugin.yaml"), encoding="utf-8").read()
assert re.search(r"^runtime: extism/v1$", manifest_text, re.M), "plugin.yaml: runtime"
max_pages = int(re.search(r"^\s+maxPages: (\d+)", manifest_text, re.M).group(1))
plugin = extism.Plugin(
    {
        "wasm": [{"path": os.path.join(plugin_dir, "plugin.wasm")}],
        "memory": {"max_pages": max_pages},
    },
    wasi=True,
)

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def call(payload):
    """(output manifests, None) or (None, error message)."""
    try:
        out = json.loads(plugin.call("helm_plugin_main", json.dumps(payload).encode()))
        return out["manifests"], None
    except extism.Error as e:
        return None, str(e)


configs = {
    "mount": "mode: mount\nkeys: [PORTKEY_CLIENT_AUTH, REDIS_URL]\n"
    "vault: {secretPath: kv/data/portkey/gateway/config, role: portkey-gateway}\n",
    "partial": "mode: partial\nkeys: [PORTKEY_CLIENT_AUTH, REDIS_URL]\nexistingSecret: portkey-gateway-env\n",
    "mount-role-app": "mode: mount\nkeys: [PORTKEY_CLIENT_AUTH]\n"
    "vault: {secretPath: kv/data/app/config, role: app}\n",
}
if not streams:  # a guard, not a check: counted only when it fails
    check("the parity sample has streams", False, f"none in {parity}/cases.json")
for path in streams:
    text = open(path, encoding="utf-8").read()
    for mode, config in configs.items():
        name = f"{os.path.basename(path)} {mode}"
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(config)
            f.flush()
            want = subprocess.run([native, "-c", f.name], input=text, capture_output=True, text=True)
        got, err = call({"manifests": text, "extraArgs": [config]})
        if want.returncode == 0:
            check(name, got == want.stdout, f"error {err!r}" if err else "output differs")
        else:
            # The CLI names its config file; the plugin has no file, the rest is the same text.
            expect = want.stderr.strip()
            check(name, got is None and err == expect, f"want {expect!r}, got {err!r}")

for shape in ({"manifests": {}, "extraArgs": []}, {"manifests": {}}):
    got, err = call(shape)
    check(
        f"broken shape {json.dumps(shape)}",
        got is None and err and "helm/helm#31832" in err and "subprocess" in err,
        f"got output {got!r}" if got is not None else f"message {err!r}",
    )
got, err = call({"manifests": "", "extraArgs": ["mode: mount\n"]})
check("empty stream with an incomplete config is refused", got is None and err, repr(got))
print(f"helm-wasm-plugin: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
