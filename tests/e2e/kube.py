"""A small, independent model of what Kubernetes and the Portkey gateway make of a rendered
stream: pod templates, the Secret/ConfigMap objects keyRefs read, each container's final
environment, and the gateway's file rule. Nothing here imports or imitates vaultwire's code."""

import base64
import posixpath

import yaml

POD_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Rollout": ("spec", "template"),
}


def load(text):
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def pods(docs):
    """(id, metadata, spec) of every pod template in the stream; id = 'Kind/name'."""
    for d in docs:
        kind = d.get("kind")
        name = (d.get("metadata") or {}).get("name")
        if kind == "Pod":
            yield f"Pod/{name}", d.get("metadata") or {}, d.get("spec") or {}
            continue
        path = POD_PATHS.get(kind)
        if not path:
            continue
        node = d
        for p in path:
            node = (node or {}).get(p)
        if isinstance(node, dict):
            yield f"{kind}/{name}", node.get("metadata") or {}, node.get("spec") or {}


def containers(spec):
    for group in ("initContainers", "containers"):
        for c in spec.get(group) or []:
            yield f"{group}/{c.get('name')}", c


def scalar(v):
    """A ConfigMap/Secret value as the string a container would see (YAML 1.1 spelling for
    the unquoted booleans and numbers some charts render; Kubernetes rejects those, and
    input and output are read the same way)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Objects:
    """Secrets and ConfigMaps by name (the fixtures are one namespace)."""

    def __init__(self, docs, extra_secrets=None):
        self.secrets, self.configmaps = {}, {}
        for d in docs:
            name = (d.get("metadata") or {}).get("name")
            if d.get("kind") == "Secret":
                data = {}
                for k, v in (d.get("data") or {}).items():
                    data[k] = "" if v is None else base64.b64decode(str(v)).decode()
                for k, v in (d.get("stringData") or {}).items():
                    data[k] = scalar(v)
                self.secrets[name] = data
            elif d.get("kind") == "ConfigMap":
                data = {k: scalar(v) for k, v in (d.get("data") or {}).items()}
                for k, v in (d.get("binaryData") or {}).items():
                    data[k] = base64.b64decode(str(v)).decode()
                self.configmaps[name] = data
        for name, data in (extra_secrets or {}).items():
            assert name not in self.secrets, f"operator Secret {name} is also rendered by the chart"
            self.secrets[name] = dict(data)

    def source(self, ref_kind, name):
        return (self.secrets if ref_kind.startswith("secret") else self.configmaps).get(name)


class Unresolved:
    """A value the kubelet cannot produce (the container would not start). All unresolved
    values compare equal: 'as broken as the input' is what the rule asks for."""

    def __init__(self, reason):
        self.reason = reason

    def __eq__(self, other):
        return isinstance(other, Unresolved)

    def __hash__(self):
        return 0

    def __repr__(self):
        return f"<unresolved: {self.reason}>"


def entry_value(e, objs):
    if "valueFrom" not in e:
        return scalar(e.get("value"))
    vf = e["valueFrom"] or {}
    for kind in ("secretKeyRef", "configMapKeyRef"):
        if kind in vf:
            ref = vf[kind]
            data = objs.source(kind, ref.get("name"))
            if data is None:
                return None if ref.get("optional") else Unresolved(f"no {kind[:-6]} {ref.get('name')}")
            if ref.get("key") not in data:
                return None if ref.get("optional") else Unresolved(f"{ref.get('name')} has no key {ref.get('key')}")
            return data[ref["key"]]
    # fieldRef / resourceFieldRef: the same downward-API value on both sides
    return ("downward", yaml.safe_dump(vf, sort_keys=True))


def raw_env(c, objs, override=None):
    """Env as Kubernetes builds it: envFrom sources in order (last wins), then env entries
    (which win over envFrom; a later duplicate name wins). override(entry) may replace an
    entry's value (the expected side uses it for entries that carry a key)."""
    env = {}
    for src in c.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        kind = "secretKeyRef" if "secretRef" in src else "configMapKeyRef"
        ref = src.get("secretRef") or src.get("configMapRef") or {}
        data = objs.source(kind, ref.get("name"))
        if data is None:
            if not ref.get("optional"):
                env[f"<envFrom {ref.get('name')}>"] = Unresolved(f"envFrom {ref.get('name')} missing")
            continue
        for k, v in data.items():
            env[prefix + k] = v
    for e in c.get("env") or []:
        v = override(e) if override else None
        if v is None:
            v = entry_value(e, objs)
        if v is None:
            env.pop(e["name"], None)  # optional ref to nothing: the variable is not set
        else:
            env[e["name"]] = v
    return env


def gateway_value(v, read_file):
    """The gateway's getValueOrFileContents: a value starting with '/', './' or '../' whose
    file exists is replaced by the file's trimmed contents; otherwise the value itself."""
    if isinstance(v, str) and v.startswith(("/", "./", "../")):
        content = read_file(v)
        if content is not None:
            return content.strip()
    return v


def final_env(c, objs, read_file, override=None):
    return {k: gateway_value(v, read_file) for k, v in raw_env(c, objs, override).items()}


def pod_path(p, workdir="/"):
    return posixpath.normpath(posixpath.join(workdir, p))


def keys_read_by_ref(docs):
    """Every key some pod template's env reads through a secretKeyRef/configMapKeyRef."""
    out = set()
    for _, _, spec in pods(docs):
        for _, c in containers(spec):
            for e in c.get("env") or []:
                vf = e.get("valueFrom") or {}
                for kind in ("secretKeyRef", "configMapKeyRef"):
                    if kind in vf:
                        out.add(vf[kind].get("key"))
    return out


def carried_key(e, keys, by_ref, volume_paths=("/vault/secrets",)):
    """The key (of `keys`) an INPUT env entry carries, by the README's rule: the key its
    keyRef reads; else the key whose injector file its value already is; else its name --
    except a literal that only shares the name of a key other entries read by reference."""
    vf = e.get("valueFrom")
    if vf:
        for kind in ("secretKeyRef", "configMapKeyRef"):
            if kind in vf:
                k = vf[kind].get("key")
                return k if k in keys else None
        return None
    v = e.get("value")
    if isinstance(v, str):
        for vp in volume_paths:
            rest = v[len(vp.rstrip("/")) + 1:] if v.startswith(vp.rstrip("/") + "/") else None
            if rest in keys:
                return rest
    if e.get("name") in keys and e.get("name") not in by_ref:
        return e["name"]
    return None
