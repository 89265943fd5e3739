"""The two proofs: mount mode through a real agent, partial/full through the operators' rules."""

import os
import re

from conftest import NOTES, ROOT_TOKEN
from injector import injects, reader, run_agent, secrets, volume_paths
from kube import Objects, Unresolved, carried_key, containers, final_env, keys_read_by_ref, load, pods
from operators import eso_secrets, vso_secrets


def no_leak(text, bao, what):
    leaked = sorted(k for path, d in bao.data.items() for k, v in d.items() if v in text)
    assert not leaked, f"{what} prints the Vault value of {leaked}"


def redact(v, vault):
    for k, val in vault.items():
        if v == val:
            return f"<vault {k}>"
    if isinstance(v, str) and any(val in v for val in vault.values()):
        return "<text holding a Vault value>"
    return repr(v)


def compare_env(expected, actual, vault, where):
    diffs = []
    for name in sorted(set(expected) | set(actual)):
        e, a = expected.get(name, "<unset>"), actual.get(name, "<unset>")
        if e != a:
            diffs.append(f"  {name}: expected {redact(e, vault)}, got {redact(a, vault)}")
    assert not diffs, f"{where}: final environment differs:\n" + "\n".join(diffs)


def _safe(s):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", s)


def _pair(in_docs, out_docs):
    ins = {pid: (m, s) for pid, m, s in pods(in_docs)}
    outs = {pid: (m, s) for pid, m, s in pods(out_docs)}
    assert set(ins) == set(outs), f"pod templates differ: {sorted(set(ins) ^ set(outs))}"
    for pid in outs:
        ic, oc = dict(containers(ins[pid][1])), dict(containers(outs[pid][1]))
        assert ic.keys() == oc.keys(), f"{pid}: containers differ"
        for cid in oc:
            ienv, oenv = ic[cid].get("env") or [], oc[cid].get("env") or []
            assert [e["name"] for e in ienv] == [e["name"] for e in oenv], f"{pid} {cid}: env entries added, dropped or reordered"
            yield pid, ins[pid], outs[pid], cid, ic[cid], oc[cid]


def _expected(ic, in_objs, keys, by_ref, vault):
    carried = {}
    for e in ic.get("env") or []:
        k = carried_key(e, keys, by_ref)
        if k:
            carried[id(e)] = k
    env = final_env(ic, in_objs, lambda p: None, override=lambda e: vault[carried[id(e)]] if id(e) in carried else None)
    return env, carried


def prove_mount(label, in_text, out_text, keys, vault, bao, workdir):
    """Render every injected pod with a real agent; every env path exists and holds the Vault
    value; the final environment is Vault's data for carried entries, the input's elsewhere."""
    in_docs, out_docs = load(in_text), load(out_text)
    by_ref = keys_read_by_ref(in_docs)
    in_objs, out_objs = Objects(in_docs), Objects(out_docs)
    readers, carried_total, files_checked = {}, 0, 0
    for pid, _, (ometa, _), cid, ic, oc in _pair(in_docs, out_docs):
        ann = ometa.get("annotations") or {}
        if pid not in readers:
            readers[pid] = lambda p: None
            if injects(ann):
                secs = secrets(ann)
                root = os.path.join(workdir, _safe(pid))
                rc, log = run_agent(bao.addr, ROOT_TOKEN, secs, root)
                assert rc == 0, f"{label} {pid}: bao agent failed:\n{log[-3000:]}"
                readers[pid] = reader(root)
                for s in secs:
                    content = readers[pid](s.dest)
                    assert content is not None, f"{label} {pid}: agent did not write {s.dest}"
                    if s.raw != s.raw.lower() or s.default_template:
                        how = "vault-k8s's default template (every field of .Data)" if s.default_template else "its own template"
                        NOTES.append(f"{label}: the chart's own agent-inject-secret-{s.raw} ({s.path}) writes {s.dest} with {how}")
                        if s.default_template:
                            for k in keys:
                                assert f"{k}:{vault[k]}" in content, f"{label} {pid}: default template lacks {k}"
                        else:
                            assert content.strip() in vault.values(), f"{label} {pid}: {s.dest} holds no Vault value"
        read = readers[pid]
        expected, carried = _expected(ic, in_objs, keys, by_ref, vault)
        carried_total += len(carried)
        vpaths = volume_paths(ann)
        for ie, oe in zip(ic.get("env") or [], oc.get("env") or []):
            v = oe.get("value")
            if "valueFrom" in oe or not isinstance(v, str):
                continue
            if any(v.startswith(vp.rstrip("/") + "/") for vp in vpaths):
                content = read(v)
                assert content is not None, f"{label} {pid} {cid}: env {oe['name']} points to {v}, which no annotation writes"
                files_checked += 1
                if id(ie) in carried:
                    k = carried[id(ie)]
                    assert content == vault[k], f"{label} {pid} {cid}: {v} does not hold exactly Vault's {k}"
        actual = final_env(oc, out_objs, read)
        compare_env(expected, actual, vault, f"{label} {pid} {cid}")
    assert carried_total, f"{label}: no env entry carries any of {keys}: nothing was proven"
    assert files_checked, f"{label}: no env value points to an injected file"
    return carried_total


def operator_secret(label, out_docs, bao, secret_name):
    eso = eso_secrets(out_docs, bao.addr, ROOT_TOKEN)
    vso = vso_secrets(out_docs, bao.addr, ROOT_TOKEN)
    assert set(eso) == {secret_name}, f"{label}: ExternalSecrets build {sorted(eso)}"
    assert set(vso) == {secret_name}, f"{label}: VaultStaticSecrets build {sorted(vso)}"
    assert eso[secret_name].keys() == vso[secret_name].keys(), (
        f"{label}: ESO and VSO build different keys: {sorted(eso[secret_name].keys() ^ vso[secret_name].keys())}")
    assert eso == vso, f"{label}: ESO and VSO build different values"
    return eso


def prove_operators(label, in_text, out_text, keys, vault, bao, secret_name):
    in_docs, out_docs = load(in_text), load(out_text)
    synced = operator_secret(label, out_docs, bao, secret_name)
    by_ref = keys_read_by_ref(in_docs)
    # The existing Secret is, by the premise of partial/full, the one synced from Vault: what
    # the input already read from it (use-vault-injection renders) is Vault's value there too.
    in_objs, out_objs = Objects(in_docs, extra_secrets={secret_name: vault}), Objects(out_docs, extra_secrets=synced)
    carried_total = 0
    for pid, _, _, cid, ic, oc in _pair(in_docs, out_docs):
        expected, carried = _expected(ic, in_objs, keys, by_ref, vault)
        carried_total += len(carried)
        actual = final_env(oc, out_objs, lambda p: None)
        compare_env(expected, actual, vault, f"{label} {pid} {cid}")
    assert carried_total, f"{label}: no env entry carries any of {keys}: nothing was proven"
    return synced


def uncovered_reads(out_docs, synced, secret_name):
    """keyRefs into the synced Secret that name a key the operator does not sync."""
    missing = []
    for pid, _, spec in pods(out_docs):
        for cid, c in containers(spec):
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref.get("name") == secret_name and not ref.get("optional") and ref.get("key") not in synced:
                    missing.append(f"{pid} {cid} {e['name']} <- {secret_name}/{ref.get('key')}")
    return missing


__all__ = ["Unresolved", "no_leak", "prove_mount", "prove_operators", "operator_secret", "uncovered_reads", "load"]
