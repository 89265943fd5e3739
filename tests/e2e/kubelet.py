"""What the kubelet makes of one container of a rendered stream: its environment and its argv.

Written for these tests from Kubernetes' own rules (pkg/kubelet/kubelet_pods.go
makeEnvironmentVariables, third_party/forked/golang/expansion, and
ExpandContainerCommandAndArgs); it imports nothing from vaultwire and shares no code with
kube.py. Service-link variables are left out (enableServiceLinks adds the same ones to a
container before and after vaultwire).

    Cluster(docs, override=None)       Secrets and ConfigMaps of the stream; override(kind, name,
                                       key) -> str or None replaces a key's value (e.g. by the
                                       value Vault holds for a moved key), even for an object the
                                       stream does not render
    container_env(c, cluster)          {name: value} the container starts with
    container_argv(c, env, image_entrypoint=None)
                                       command + args, `$(VAR)` expanded against env
    expand(text, env)                  the `$(VAR)` expansion itself
"""

import base64
import re

# validation.IsEnvVarName: envFrom skips (with an event) keys that are no valid variable name
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

# what the downward API hands a container; any fixed fake does: the same on both sides
FIELD_REFS = {
    "metadata.name": "pod-0",
    "metadata.namespace": "apps",
    "metadata.uid": "00000000-0000-0000-0000-000000000007",
    "spec.nodeName": "node-1",
    "spec.serviceAccountName": "default",
    "status.hostIP": "10.0.0.1",
    "status.hostIPs": "10.0.0.1",
    "status.podIP": "10.0.0.7",
    "status.podIPs": "10.0.0.7",
}


class KubeletError(Exception):
    """The kubelet would not start the container (CreateContainerConfigError)."""


def expand(text, env):
    """expansion.Expand with MappingFuncFor(env): `$(NAME)` -> env[NAME] when defined, else the
    literal `$(NAME)`; `$$` -> `$`; an unterminated `$(` and `$x` stay as they are; a `$` at the
    very end stays."""
    out = []
    checkpoint = 0
    cursor = 0
    n = len(text)
    while cursor < n:
        if text[cursor] == "$" and cursor + 1 < n:
            out.append(text[checkpoint:cursor])
            rest = text[cursor + 1:]
            if rest[0] == "$":
                read, is_var, advance = "$", False, 1
            elif rest[0] == "(":
                close = rest.find(")", 1)
                if close >= 1:
                    read, is_var, advance = rest[1:close], True, close + 1
                else:
                    read, is_var, advance = "$(", False, 1
            else:
                read, is_var, advance = "$" + rest[0], False, 1
            if is_var:
                out.append(env[read] if read in env else "$(" + read + ")")
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _scalar(v):
    # Kubernetes only takes strings here; a chart's unquoted YAML scalar is read the same way
    # on both sides of a comparison
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Cluster:
    def __init__(self, docs, override=None):
        self.objects = {}  # (kind, name) -> {key: value}
        self.override = override or (lambda kind, name, key: None)
        for d in docs:
            kind = d.get("kind")
            name = (d.get("metadata") or {}).get("name")
            if kind == "Secret":
                data = {k: base64.b64decode(str(v or "")).decode() for k, v in (d.get("data") or {}).items()}
                # the API server merges stringData over data
                data.update({k: _scalar(v) for k, v in (d.get("stringData") or {}).items()})
            elif kind == "ConfigMap":
                data = {k: _scalar(v) for k, v in (d.get("data") or {}).items()}
                data.update({k: base64.b64decode(str(v)).decode() for k, v in (d.get("binaryData") or {}).items()})
            else:
                continue
            self.objects[(kind, name)] = data

    def value(self, kind, name, key):
        """The key's value, or None when the object or the key is missing."""
        v = self.override(kind, name, key)
        if v is not None:
            return v
        data = self.objects.get((kind, name))
        if data is None or key not in data:
            return None
        return data[key]

    def keys(self, kind, name):
        """Every key of the object (for envFrom), overrides applied; None when it is missing."""
        data = self.objects.get((kind, name))
        if data is None:
            return None
        return {k: self.value(kind, name, k) for k in data}


def container_env(c, cluster, field_refs=FIELD_REFS):
    env = {}
    for src in c.get("envFrom") or []:
        if "secretRef" in src:
            kind, ref = "Secret", src["secretRef"] or {}
        else:
            kind, ref = "ConfigMap", src.get("configMapRef") or {}
        data = cluster.keys(kind, ref.get("name"))
        if data is None:
            if ref.get("optional"):
                continue
            raise KubeletError(f"envFrom: {kind} {ref.get('name')} not found")
        prefix = src.get("prefix") or ""
        for k, v in data.items():
            if ENV_NAME.match(prefix + k):
                env[prefix + k] = v
    for e in c.get("env") or []:
        name = e["name"]
        value = _scalar(e.get("value"))
        if value != "":
            env[name] = expand(value, env)
            continue
        vf = e.get("valueFrom")
        if not vf:
            env[name] = ""
            continue
        if "secretKeyRef" in vf or "configMapKeyRef" in vf:
            kind = "Secret" if "secretKeyRef" in vf else "ConfigMap"
            ref = vf.get("secretKeyRef") or vf.get("configMapKeyRef")
            v = cluster.value(kind, ref.get("name"), ref.get("key"))
            if v is None:
                if ref.get("optional"):
                    continue  # not set (an envFrom value of the same name stays)
                raise KubeletError(f"env {name}: {kind} {ref.get('name')} key {ref.get('key')} not found")
            env[name] = v
        elif "fieldRef" in vf:
            path = vf["fieldRef"].get("fieldPath")
            m = re.match(r"metadata\.(labels|annotations)\['(.*)'\]$", path or "")
            env[name] = f"fake-{m.group(1)}-{m.group(2)}" if m else field_refs.get(path, "fake-" + str(path))
        elif "resourceFieldRef" in vf:
            env[name] = "fake-" + str(vf["resourceFieldRef"].get("resource"))
        else:
            raise KubeletError(f"env {name}: unknown valueFrom {sorted(vf)}")
    return env


def container_argv(c, env, image_entrypoint=None):
    """command + args, each expanded against the finished env. Without a command the image's
    ENTRYPOINT runs (image_entrypoint stands for it; args are appended, unexpanded entrypoint)."""
    command = [expand(_scalar(x), env) for x in c.get("command") or []]
    args = [expand(_scalar(x), env) for x in c.get("args") or []]
    if not command:
        command = list(image_entrypoint or [])
    return command + args
