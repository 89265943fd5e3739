"""The Secret that External Secrets Operator and Vault Secrets Operator would build from the
generated resources, read from the real OpenBao over HTTP, following each operator's rules
(written for this test, not taken from vaultwire):

ESO vault provider: the store's `path` is the KV mount, `version` v2 (default) or v1;
remoteRef.key is relative to the mount (a key that already starts with the mount has it
trimmed); KV v2 reads /v1/<mount>/data/<key> and uses .data.data, KV v1 reads
/v1/<mount>/<key> and uses .data; `property` picks one field (a dotted property is a gjson
path into nested data); without a property the whole map as JSON.

VSO VaultStaticSecret: /v1/<mount>/data/<path> for kv-v2 (.data.data), /v1/<mount>/<path> for
kv-v1 (.data); every field becomes a key (non-strings as JSON), `transformation.includes`
/`excludes` are regular expressions over the field names (excludes win), and `_raw` (the JSON
of the whole response data) is added unless `transformation.excludeRaw`."""

import json
import re
import urllib.error
import urllib.request


def vault_get(addr, token, path):
    req = urllib.request.Request(f"{addr}/v1/{path}", headers={"X-Vault-Token": token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise AssertionError(f"GET /v1/{path}: HTTP {e.code}") from None


def _str(v):
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def _by_kind(docs, kind):
    return {(d.get("metadata") or {}).get("name"): d for d in docs if d.get("kind") == kind}


def eso_secrets(docs, addr, token):
    """{target Secret name: data} for every ExternalSecret in the stream."""
    stores = {("ClusterSecretStore", n): d for n, d in _by_kind(docs, "ClusterSecretStore").items()}
    stores.update({("SecretStore", n): d for n, d in _by_kind(docs, "SecretStore").items()})
    out = {}
    for name, es in _by_kind(docs, "ExternalSecret").items():
        assert es["apiVersion"] == "external-secrets.io/v1", es["apiVersion"]
        spec = es["spec"]
        ref = spec["secretStoreRef"]
        store = stores.get((ref.get("kind", "SecretStore"), ref["name"]))
        assert store is not None, f"ExternalSecret {name}: store {ref} is not in the stream"
        vault = store["spec"]["provider"]["vault"]
        assert vault["server"] == addr, f"store server {vault['server']} is not the test's Vault"
        mount = vault.get("path")
        version = vault.get("version", "v2")
        data = {}

        def read(key):
            k = key
            if mount and k.startswith(mount + "/"):
                k = k[len(mount) + 1:]
            if version == "v2":
                if not k.startswith("data/"):
                    k = "data/" + k
                return vault_get(addr, token, f"{mount}/{k}")["data"]["data"]
            return vault_get(addr, token, f"{mount}/{k}")["data"]

        for item in spec.get("data") or []:
            remote = item["remoteRef"]
            secret = read(remote["key"])
            prop = remote.get("property")
            if prop is None:
                value = json.dumps(secret)
            elif prop in secret:
                value = _str(secret[prop])
            else:
                node = secret
                for part in prop.split("."):
                    assert isinstance(node, dict) and part in node, f"ESO: property {prop} not found (key missing in Vault)"
                    node = node[part]
                value = _str(node)
            data[item["secretKey"]] = value
        for item in spec.get("dataFrom") or []:
            secret = read(item["extract"]["key"])
            data.update({k: _str(v) for k, v in secret.items()})
        target = (spec.get("target") or {}).get("name") or name
        assert (spec.get("target") or {}).get("creationPolicy", "Owner") in ("Owner", "Orphan"), "ESO would not create the Secret"
        out[target] = data
    return out


def vso_secrets(docs, addr, token):
    """{destination Secret name: data} for every VaultStaticSecret in the stream."""
    conns = _by_kind(docs, "VaultConnection")
    auths = _by_kind(docs, "VaultAuth")
    out = {}
    for name, vss in _by_kind(docs, "VaultStaticSecret").items():
        spec = vss["spec"]
        auth = auths.get(spec.get("vaultAuthRef"))
        assert auth is not None, f"VaultStaticSecret {name}: VaultAuth {spec.get('vaultAuthRef')} not in the stream"
        conn = conns.get(auth["spec"].get("vaultConnectionRef"))
        assert conn is not None, f"VaultAuth: VaultConnection {auth['spec'].get('vaultConnectionRef')} not in the stream"
        assert conn["spec"]["address"] == addr
        mount, path, typ = spec["mount"], spec["path"], spec["type"]
        if typ == "kv-v2":
            resp = vault_get(addr, token, f"{mount}/data/{path}")["data"]
            fields = resp["data"]
        elif typ == "kv-v1":
            resp = vault_get(addr, token, f"{mount}/{path}")["data"]
            fields = resp
        else:
            raise AssertionError(f"VSO type {typ}")
        dest = spec["destination"]
        assert dest.get("create") is True, "VSO destination.create is not true: VSO would not create the Secret"
        tr = dest.get("transformation") or {}
        inc = [re.compile(p) for p in tr.get("includes") or []]
        exc = [re.compile(p) for p in tr.get("excludes") or []]
        data = {}
        for k, v in fields.items():
            if inc and not any(p.search(k) for p in inc):
                continue
            if any(p.search(k) for p in exc):
                continue
            data[k] = _str(v)
        if not tr.get("excludeRaw"):
            data["_raw"] = json.dumps(resp)
        out[dest["name"]] = data
    return out
