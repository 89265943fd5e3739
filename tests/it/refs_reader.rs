//! An independent reading of the reference model of `docs/references.md`, for the tests of
//! issue 9 (`references`, `chart_properties`, `reference_props`): the Secrets and ConfigMaps a
//! stream renders and the plaintext of each key, pod templates in every kind (any `*List`, nested,
//! `ReplicationController`, `PodTemplate`), which `(object, key)` each pod field reads, and which
//! Vault field an output env entry reads (`secretKeyRef` into the synced Secret, or an injector
//! file whose template reads the field). Nothing here calls into the crate under test.
#![allow(dead_code)] // each topic module uses a different subset

use crate::support::{
    key_ref, read_stream, run_vaultwire, scalar_text, template_kv2_keys, template_secret_paths,
    vault_k8s_secrets, Document, Ident, Mode, RunResult,
};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

/// The synced Secret (partial, full).
pub const SYNCED: &str = "vault-synced";
/// The Vault path (mount).
pub const VAULT_PATH: &str = "kv/data/app/config";
/// The Kubernetes-auth role (mount).
pub const ROLE: &str = "app";

pub const NOTE: &str = "vaultwire: note: ";
pub const WARNING: &str = "vaultwire: warning: ";

// ----------------------------------------------------------------------------------------------
// Running

/// `-m MODE` with the mode's required flags, one `-k` per key, then `extra`.
pub fn args(mode: Mode, keys: &[&str], extra: &[&str]) -> Vec<String> {
    args_with_role(mode, ROLE, keys, extra)
}

pub fn args_with_role(mode: Mode, role: &str, keys: &[&str], extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec!["-m".into(), mode.as_str().into()];
    match mode {
        Mode::Partial | Mode::Full => a.extend(["--secret".into(), SYNCED.into()]),
        Mode::Mount => a.extend([
            "--vault-path".into(),
            VAULT_PATH.into(),
            "--role".into(),
            role.into(),
        ]),
    }
    for k in keys {
        a.extend(["-k".into(), (*k).into()]);
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// `vaultwire ARGS` for messages.
pub fn command(args: &[String]) -> String {
    format!("vaultwire {}", args.join(" "))
}

/// Runs and requires exit 0 and an output that parses; the error names the command and stderr.
pub fn run_ok(args: &[String], input: &str) -> Result<(RunResult, Vec<Document>), String> {
    let run = run_vaultwire(args, input);
    if !run.success() {
        return Err(format!(
            "{}: exit {:?}, expected 0; stderr: {}",
            command(args),
            run.code,
            run.stderr.trim()
        ));
    }
    match read_stream(&run.stdout) {
        Ok(docs) => Ok((run, docs)),
        Err(e) => Err(format!("{}: output does not parse: {e}", command(args))),
    }
}

/// Lines of stderr that are notes or warnings.
pub fn notes_and_warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with(NOTE) || l.starts_with(WARNING))
        .collect()
}

/// `text` names `name` as a whole word: not inside a longer object name (`rel1-mastodon` is not
/// named by `rel1-mastodon-web`).
pub fn names(text: &str, name: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

// ----------------------------------------------------------------------------------------------
// Plaintext

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn unb64(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Values the contract never searches for copies of: shorter than 6 characters, booleans,
/// numbers.
pub fn searchable(plain: &str) -> bool {
    plain.chars().count() >= 6
        && !matches!(plain.to_ascii_lowercase().as_str(), "true" | "false")
        && plain.trim().parse::<f64>().is_err()
}

// ----------------------------------------------------------------------------------------------
// Objects

/// A Secret or ConfigMap, by kind and name (each fixture is one namespace).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjRef {
    pub kind: String,
    pub name: String,
}

impl ObjRef {
    pub fn secret(name: &str) -> Self {
        ObjRef {
            kind: "Secret".into(),
            name: name.into(),
        }
    }
    pub fn config_map(name: &str) -> Self {
        ObjRef {
            kind: "ConfigMap".into(),
            name: name.into(),
        }
    }
    pub fn is_synced(&self) -> bool {
        self.kind == "Secret" && self.name == SYNCED
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} '{}'", self.kind, self.name)
    }
}

/// The keys of a rendered Secret/ConfigMap.
#[derive(Clone, Debug, Default)]
pub struct Obj {
    /// key → plaintext (`None`: a Secret `data` value that is not base64 of UTF-8 text).
    pub plain: BTreeMap<String, Option<String>>,
}

impl Obj {
    pub fn plaintext(&self, key: &str) -> Option<&str> {
        self.plain.get(key).and_then(|p| p.as_deref())
    }
}

/// Every object of a document with its JSON pointer: the document itself, or the items of a
/// list (any kind ending in `List` with an `items` array), recursively.
pub fn objects_in(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    collect_objects(doc, String::new(), &mut out);
    out
}

fn collect_objects<'a>(v: &'a Value, base: String, out: &mut Vec<(String, &'a Value)>) {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if let (true, Some(items)) = (
        kind.ends_with("List"),
        v.get("items").and_then(Value::as_array),
    ) {
        for (i, item) in items.iter().enumerate() {
            collect_objects(item, format!("{base}/items/{i}"), out);
        }
        return;
    }
    out.push((base, v));
}

pub fn object_name(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/name").and_then(Value::as_str)
}

/// The Secrets and ConfigMaps a stream renders, with the plaintext of every key.
pub fn rendered(docs: &[Document]) -> BTreeMap<ObjRef, Obj> {
    let mut found = BTreeMap::new();
    for doc in docs {
        for (_, obj) in objects_in(&doc.value) {
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind != "Secret" && kind != "ConfigMap" {
                continue;
            }
            let Some(name) = object_name(obj) else {
                continue;
            };
            let mut o = Obj::default();
            for (k, v) in obj
                .get("data")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let text = scalar_text(v);
                let plain = if kind == "Secret" {
                    unb64(&text)
                } else {
                    Some(text)
                };
                o.plain.insert(k.clone(), plain);
            }
            for (k, v) in obj
                .get("stringData")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                o.plain.insert(k.clone(), Some(scalar_text(v)));
            }
            found.insert(
                ObjRef {
                    kind: kind.into(),
                    name: name.into(),
                },
                o,
            );
        }
    }
    found
}

/// Every string scalar of a document with its pointer; the `data` values of Secrets (also inside
/// Lists) are decoded.
pub fn string_fields(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (base, obj) in objects_in(doc) {
        let secret = obj.get("kind").and_then(Value::as_str) == Some("Secret");
        walk_strings(obj, &base, base.clone(), secret, &mut out);
    }
    out
}

fn walk_strings(v: &Value, root: &str, at: String, secret: bool, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if secret && at == root && k == "data" {
                    for (dk, dv) in child.as_object().into_iter().flatten() {
                        if let Some(p) = unb64(&scalar_text(dv)) {
                            out.push((format!("{root}/data/{dk}"), p));
                        }
                    }
                    continue;
                }
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                walk_strings(child, root, here, secret, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_strings(child, root, format!("{at}/{i}"), secret, out);
            }
        }
        Value::String(s) => out.push((at, s.clone())),
        _ => {}
    }
}

// ----------------------------------------------------------------------------------------------
// Pods, containers, env

/// A pod template: pointer to the object that holds the pod's `metadata` and `spec`.
#[derive(Clone, Debug)]
pub struct Pod {
    pub pointer: String,
    pub owner_kind: String,
    pub owner_name: String,
}

/// Every pod template of a document, in Lists of any kind too.
pub fn pods(doc: &Value) -> Vec<Pod> {
    let mut found = Vec::new();
    for (base, obj) in objects_in(doc) {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let relative = match kind {
            "Pod" => "",
            "PodTemplate" => "/template",
            "CronJob" => "/spec/jobTemplate/spec/template",
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "Job"
            | "ReplicationController"
            | "Rollout" => "/spec/template",
            _ => continue,
        };
        if !obj.pointer(relative).is_some_and(Value::is_object) {
            continue;
        }
        found.push(Pod {
            pointer: format!("{base}{relative}"),
            owner_kind: kind.into(),
            owner_name: object_name(obj).unwrap_or("").into(),
        });
    }
    found
}

impl Pod {
    pub fn label(&self) -> String {
        if self.pointer.contains("/items/") {
            format!(
                "{} '{}' (at {})",
                self.owner_kind, self.owner_name, self.pointer
            )
        } else {
            format!("{} '{}'", self.owner_kind, self.owner_name)
        }
    }

    pub fn annotations<'a>(&self, doc: &'a Value) -> Option<&'a Map<String, Value>> {
        doc.pointer(&format!("{}/metadata/annotations", self.pointer))
            .and_then(Value::as_object)
    }
}

/// A container of a pod template.
#[derive(Clone, Debug)]
pub struct Container {
    pub pointer: String,
    pub name: String,
}

pub fn containers(doc: &Value, pod: &Pod) -> Vec<Container> {
    let mut found = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let list_ptr = format!("{}/spec/{list}", pod.pointer);
        for (i, c) in doc
            .pointer(&list_ptr)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            found.push(Container {
                pointer: format!("{list_ptr}/{i}"),
                name: c.get("name").and_then(Value::as_str).unwrap_or("?").into(),
            });
        }
    }
    found
}

pub fn env(doc: &Value, c: &Container) -> Vec<Value> {
    doc.pointer(&format!("{}/env", c.pointer))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

pub fn env_name(entry: &Value) -> &str {
    entry.get("name").and_then(Value::as_str).unwrap_or("")
}

/// One `envFrom` source: object, prefix, optional.
#[derive(Clone, Debug)]
pub struct EnvFrom {
    pub object: ObjRef,
    pub prefix: String,
    pub optional: bool,
}

pub fn env_from(doc: &Value, c: &Container) -> Vec<EnvFrom> {
    let mut found = Vec::new();
    for src in doc
        .pointer(&format!("{}/envFrom", c.pointer))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for (field, kind) in [("secretRef", "Secret"), ("configMapRef", "ConfigMap")] {
            if let Some(r) = src.get(field) {
                found.push(EnvFrom {
                    object: ObjRef {
                        kind: kind.into(),
                        name: r.get("name").and_then(Value::as_str).unwrap_or("").into(),
                    },
                    prefix: src
                        .get("prefix")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    optional: r.get("optional").and_then(Value::as_bool) == Some(true),
                });
            }
        }
    }
    found
}

/// A keyRef of an env entry as (object, key).
pub fn entry_key_ref(entry: &Value) -> Option<(ObjRef, String)> {
    let (kind, name, key) = key_ref(entry)?;
    Some((
        ObjRef {
            kind: kind.into(),
            name,
        },
        key,
    ))
}

pub fn key_ref_optional(entry: &Value) -> bool {
    let from = entry.get("valueFrom");
    ["secretKeyRef", "configMapKeyRef"].iter().any(|f| {
        from.and_then(|v| v.get(*f))
            .and_then(|r| r.get("optional"))
            .and_then(Value::as_bool)
            == Some(true)
    })
}

pub fn is_literal(entry: &Value) -> bool {
    entry.get("valueFrom").is_none()
}

/// What a pod field reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Read {
    Key(ObjRef, String),
    Whole(ObjRef),
}

/// A read of a pod, with where it is and whether it is optional.
#[derive(Clone, Debug)]
pub struct PodRead {
    pub read: Read,
    pub optional: bool,
    pub at: String,
}

/// Every Secret/ConfigMap read of a pod template: env keyRefs, `envFrom`, `secret`/`configMap`
/// volumes and projected sources (their `items` keys, else the whole object), imagePullSecrets.
pub fn pod_reads(doc: &Value, pod: &Pod) -> Vec<PodRead> {
    let mut reads = Vec::new();
    for c in containers(doc, pod) {
        for e in env(doc, &c) {
            if let Some((o, k)) = entry_key_ref(&e) {
                reads.push(PodRead {
                    read: Read::Key(o, k),
                    optional: key_ref_optional(&e),
                    at: format!("container '{}' env {}", c.name, env_name(&e)),
                });
            }
        }
        for f in env_from(doc, &c) {
            reads.push(PodRead {
                read: Read::Whole(f.object),
                optional: f.optional,
                at: format!("container '{}' envFrom", c.name),
            });
        }
    }
    let spec = doc.pointer(&format!("{}/spec", pod.pointer));
    let arr = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    for s in arr(spec.and_then(|s| s.get("imagePullSecrets"))) {
        if let Some(name) = s.get("name").and_then(Value::as_str) {
            reads.push(PodRead {
                read: Read::Whole(ObjRef::secret(name)),
                optional: false,
                at: "imagePullSecrets".into(),
            });
        }
    }
    for v in arr(spec.and_then(|s| s.get("volumes"))) {
        let vname = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let mut sources: Vec<(&str, Value)> = Vec::new();
        if let Some(s) = v.get("secret") {
            sources.push(("Secret", s.clone()));
        }
        if let Some(s) = v.get("configMap") {
            sources.push(("ConfigMap", s.clone()));
        }
        for src in arr(v.pointer("/projected/sources")) {
            if let Some(s) = src.get("secret") {
                sources.push(("Secret", s.clone()));
            }
            if let Some(s) = src.get("configMap") {
                sources.push(("ConfigMap", s.clone()));
            }
        }
        for (kind, s) in sources {
            let name = s
                .get(if kind == "Secret" && s.get("secretName").is_some() {
                    "secretName"
                } else {
                    "name"
                })
                .and_then(Value::as_str);
            let Some(name) = name else { continue };
            let object = ObjRef {
                kind: kind.into(),
                name: name.into(),
            };
            let optional = s.get("optional").and_then(Value::as_bool) == Some(true);
            let items = arr(s.get("items"));
            let at = format!("volume '{vname}'");
            if items.is_empty() {
                reads.push(PodRead {
                    read: Read::Whole(object),
                    optional,
                    at,
                });
            } else {
                for it in items {
                    if let Some(k) = it.get("key").and_then(Value::as_str) {
                        reads.push(PodRead {
                            read: Read::Key(object.clone(), k.into()),
                            optional,
                            at: at.clone(),
                        });
                    }
                }
            }
        }
    }
    reads
}

/// The keys that reach a container from a rendered object through `envFrom`, less the names the
/// container sets itself: (object, key, env name).
pub fn env_from_keys(
    doc: &Value,
    c: &Container,
    objs: &BTreeMap<ObjRef, Obj>,
) -> Vec<(ObjRef, String, String)> {
    let own: BTreeSet<String> = env(doc, c)
        .iter()
        .map(|e| env_name(e).to_string())
        .collect();
    let mut found = Vec::new();
    for f in env_from(doc, c) {
        let Some(obj) = objs.get(&f.object) else {
            continue;
        };
        for key in obj.plain.keys() {
            let name = format!("{}{key}", f.prefix);
            if !own.contains(&name) {
                found.push((f.object.clone(), key.clone(), name));
            }
        }
    }
    found
}

/// The plaintext an input env entry holds: a keyRef's object value, or a literal. `None`:
/// unknown (the object is not rendered, or it is the synced Secret, or a fieldRef).
pub fn entry_plaintext(entry: &Value, objs: &BTreeMap<ObjRef, Obj>) -> Option<String> {
    if let Some((o, k)) = entry_key_ref(entry) {
        if o.is_synced() {
            return None;
        }
        return objs.get(&o)?.plaintext(&k).map(str::to_string);
    }
    if entry.get("valueFrom").is_some() {
        return None;
    }
    Some(entry.get("value").map(scalar_text).unwrap_or_default())
}

/// The plaintext the env var `name` of an input container gets through `envFrom` (the last
/// source that holds it wins, as in Kubernetes), with the object and key.
pub fn env_from_plaintext(
    doc: &Value,
    c: &Container,
    name: &str,
    objs: &BTreeMap<ObjRef, Obj>,
) -> Option<(ObjRef, String, String)> {
    let mut found = None;
    for f in env_from(doc, c) {
        let Some(key) = name.strip_prefix(f.prefix.as_str()) else {
            continue;
        };
        if let Some(p) = objs.get(&f.object).and_then(|o| o.plaintext(key)) {
            found = Some((f.object.clone(), key.to_string(), p.to_string()));
        }
    }
    found
}

// ----------------------------------------------------------------------------------------------
// What an output env entry reads from Vault

/// The Vault field an output env entry reads: partial/full a `secretKeyRef` into the synced
/// Secret; mount a path that the pod's injector annotations (read as vault-k8s reads them) write
/// from a template reading one KV v2 field of `VAULT_PATH`.
pub fn vault_field(mode: Mode, doc: &Value, pod: &Pod, entry: &Value) -> Option<String> {
    match mode {
        Mode::Partial | Mode::Full => {
            let (o, k) = entry_key_ref(entry)?;
            o.is_synced().then_some(k)
        }
        Mode::Mount => mount_field(doc, pod, entry).ok(),
    }
}

/// Mount mode: the field the file an entry points to is rendered from, or why there is none.
pub fn mount_field(doc: &Value, pod: &Pod, entry: &Value) -> Result<String, String> {
    let shape_ok = entry.as_object().is_some_and(|o| {
        o.len() == 2 && o.contains_key("name") && o.get("value").is_some_and(Value::is_string)
    });
    let path = entry
        .get("value")
        .and_then(Value::as_str)
        .filter(|_| shape_ok)
        .ok_or_else(|| format!("expected {{name, value: <file path>}}, got {entry}"))?;
    let empty = Map::new();
    let ann = pod.annotations(doc).unwrap_or(&empty);
    let injected = vault_k8s_secrets(ann);
    let writers: Vec<_> = injected.iter().filter(|s| s.file_path == path).collect();
    let [w] = writers.as_slice() else {
        let paths: Vec<&str> = injected.iter().map(|s| s.file_path.as_str()).collect();
        return Err(format!(
            "value {path:?} is written by {} injector secrets (written files: {paths:?})",
            writers.len()
        ));
    };
    if w.vault_path != VAULT_PATH {
        return Err(format!(
            "{path} comes from Vault path {:?}, expected {VAULT_PATH:?}",
            w.vault_path
        ));
    }
    let template = w
        .template
        .as_deref()
        .ok_or_else(|| format!("no agent-inject-template-{} for {path}", w.raw))?;
    if !template.contains("{{- with secret") {
        // A composed `$(VAR)` value (no trimming: its text is part of the value), not a field.
        return Err(format!("{path} is a composed value"));
    }
    let paths = template_secret_paths(template);
    if paths.is_empty() || paths.iter().any(|p| p != VAULT_PATH) {
        return Err(format!(
            "template of {path} reads paths {paths:?}, expected {VAULT_PATH:?}"
        ));
    }
    let keys = template_kv2_keys(template);
    match keys.len() {
        1 => Ok(keys.into_iter().next().expect("one key")),
        n => Err(format!("template of {path} reads {n} fields: {keys:?}")),
    }
}

/// Checks that an output env entry named `name` reads Vault field `field` the mode's way.
pub fn check_reads_field(
    mode: Mode,
    doc: &Value,
    pod: &Pod,
    name: &str,
    entry: &Value,
    field: &str,
) -> Result<(), String> {
    match mode {
        Mode::Partial | Mode::Full => {
            let want = json!({
                "name": name,
                "valueFrom": {"secretKeyRef": {"name": SYNCED, "key": field}}
            });
            if *entry == want {
                Ok(())
            } else {
                Err(format!("expected {want}, got {entry}"))
            }
        }
        Mode::Mount => {
            if env_name(entry) != name {
                return Err(format!("expected env {name}, got {entry}"));
            }
            match mount_field(doc, pod, entry)? {
                f if f == field => Ok(()),
                f => Err(format!(
                    "its file is rendered from field {f:?}, expected {field:?}"
                )),
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Input ↔ output documents

pub fn doc_ident(doc: &Document) -> Option<Ident> {
    doc.ident()
}

/// For each input document, the output document that is it: same identity, in order of
/// appearance (a non-object document: the same text).
pub fn match_documents(inputs: &[Document], outputs: &[Document]) -> Vec<Option<usize>> {
    let mut by_ident: HashMap<Ident, VecDeque<usize>> = HashMap::new();
    for (j, d) in outputs.iter().enumerate() {
        if let Some(id) = d.ident() {
            by_ident.entry(id).or_default().push_back(j);
        }
    }
    let mut used = vec![false; outputs.len()];
    let mut matched = Vec::new();
    for input in inputs {
        let j = match input.ident() {
            Some(id) => by_ident.get_mut(&id).and_then(VecDeque::pop_front),
            None => (0..outputs.len()).find(|&j| !used[j] && outputs[j].text == input.text),
        };
        if let Some(j) = j {
            used[j] = true;
        }
        matched.push(j);
    }
    matched
}

/// "document N (Kind 'name')" for messages.
pub fn doc_label(i: usize, doc: &Document) -> String {
    match doc.ident() {
        Some(id) => format!("document {} ({id})", i + 1),
        None => format!("document {}", i + 1),
    }
}

// ----------------------------------------------------------------------------------------------
// Which plaintexts end up behind which Vault field

/// For every output env entry that reads a Vault field: the plaintext the same entry held in the
/// input (same document, pod template, container and env name; its keyRef's value or its
/// literal), or, for an entry the run added, what the input container got under that name
/// through `envFrom`. Unknown plaintexts (the object is not rendered, the entry already read the
/// synced Secret or was already an injector path) are left out. field → plaintext → sources.
pub fn plaintexts_by_field(
    mode: Mode,
    ins: &[Document],
    outs: &[Document],
    objs: &BTreeMap<ObjRef, Obj>,
) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let matched = match_documents(ins, outs);
    let mut by_field: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (i, d) in ins.iter().enumerate() {
        let Some(o) = matched[i].map(|j| &outs[j]) else {
            continue;
        };
        for pod in pods(&o.value) {
            let in_containers = if d.value.pointer(&pod.pointer).is_some() {
                containers(&d.value, &pod)
            } else {
                Vec::new()
            };
            for oc in containers(&o.value, &pod) {
                let ic = in_containers.iter().find(|c| c.name == oc.name);
                let in_env = ic.map(|c| env(&d.value, c)).unwrap_or_default();
                for e in env(&o.value, &oc) {
                    let Some(field) = vault_field(mode, &o.value, &pod, &e) else {
                        continue;
                    };
                    let name = env_name(&e);
                    let (plain, source) = match in_env.iter().rev().find(|x| env_name(x) == name) {
                        Some(x) => {
                            if mode == Mode::Mount && *x == e {
                                continue; // already an injector path in the input
                            }
                            let Some(p) = entry_plaintext(x, objs) else {
                                continue;
                            };
                            let src = match entry_key_ref(x) {
                                Some((ob, k)) => format!("{ob} key {k}"),
                                None => "its literal".to_string(),
                            };
                            (p, src)
                        }
                        None => {
                            let Some(c) = ic else { continue };
                            let Some((ob, k, p)) = env_from_plaintext(&d.value, c, name, objs)
                            else {
                                continue;
                            };
                            (p, format!("{ob} key {k} through envFrom"))
                        }
                    };
                    by_field
                        .entry(field)
                        .or_default()
                        .entry(plain)
                        .or_default()
                        .push(format!(
                            "document {} {} container '{}' env {name} ({source})",
                            i + 1,
                            pod.label(),
                            oc.name
                        ));
                }
            }
        }
    }
    by_field
}

/// One line per field with more than one plaintext, naming where each came from (never a value).
pub fn merged_fields(by_field: &BTreeMap<String, BTreeMap<String, Vec<String>>>) -> Vec<String> {
    by_field
        .iter()
        .filter(|(_, values)| values.len() > 1)
        .map(|(field, values)| {
            let sources: Vec<String> = values
                .values()
                .enumerate()
                .map(|(n, s)| {
                    let shown: Vec<&str> = s.iter().take(3).map(String::as_str).collect();
                    format!("plaintext #{} from {}", n + 1, shown.join("; "))
                })
                .collect();
            format!(
                "Vault field {field} gets {} different plaintexts: {}",
                values.len(),
                sources.join(" | ")
            )
        })
        .collect()
}
