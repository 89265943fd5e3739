//! Shared helpers for the acceptance tests.
//!
//! Everything here is an independent reading of the vaultwire contract: running the binary,
//! splitting and parsing streams, finding pod templates and env entries, reading Vault Agent
//! Injector annotations the way vault-k8s does, and checking one run of the binary against the
//! contract's properties. Nothing here calls into the crate under test.
#![allow(dead_code)] // each topic module uses a different subset of these helpers

use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
pub const VAULT_PREFIX: &str = "vault.hashicorp.com/";
const DEFAULT_SECRET_DIR: &str = "/vault/secrets";
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

// ----------------------------------------------------------------------------------------------
// Locating shared material

/// `../shared/fixtures` beside the checkout, when it exists.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    dir.is_dir().then_some(dir)
}

/// `shared_dir()`; when it is missing, a failure under `CI=true` (CI always has `../shared`, so a
/// missing directory there is a broken checkout, not a reason to skip), else a note on stderr.
pub fn shared_dir_required(test: &str) -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: ../shared/fixtures does not exist, and CI=true: these tests must run in CI"
        );
        eprintln!(
            "note: {test}: ../shared/fixtures does not exist here; skipping (CI always has it)"
        );
    }
    dir
}

/// A test over `../shared`: `body` gets the fixtures' directory and the failure list, then every
/// failure is reported at once. Skipped (or failed under `CI=true`) as `shared_dir_required` says.
pub fn over_shared(test: &str, body: impl FnOnce(&Path, &mut Vec<String>)) {
    let Some(dir) = shared_dir_required(test) else {
        return;
    };
    let mut failures = Vec::new();
    body(&dir, &mut failures);
    report(test, &failures);
}

pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Panics with every collected failure at once.
pub fn report(test: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{test}: {} failure(s):\n  - {}",
        failures.len(),
        failures.join("\n  - ")
    );
}

// ----------------------------------------------------------------------------------------------
// Running the binary

pub struct RunResult {
    /// Exit code; `None` when killed by a signal or by the timeout.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl RunResult {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

fn read_all<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Runs `vaultwire ARGS < stdin`, killing it after a minute.
pub fn run_vaultwire<S: AsRef<str>>(args: &[S], stdin: &str) -> RunResult {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaultwire"))
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vaultwire");
    let mut pipe_in = child.stdin.take().expect("stdin pipe");
    let input = stdin.as_bytes().to_vec();
    // A binary that exits early closes its stdin: the write error is expected then.
    let writer = thread::spawn(move || {
        let _ = pipe_in.write_all(&input);
    });
    let out = read_all(child.stdout.take().expect("stdout pipe"));
    let err = read_all(child.stderr.take().expect("stderr pipe"));
    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for vaultwire") {
            break status;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for killed vaultwire");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    let mut stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    if timed_out {
        stderr.push_str("\n[test harness: killed after timeout]");
    }
    RunResult {
        code: if timed_out { None } else { status.code() },
        stdout,
        stderr,
    }
}

// ----------------------------------------------------------------------------------------------
// Streams and documents

/// Splits a stream on lines that are exactly `---` or `...` (CR stripped), keeping each chunk's
/// exact text and skipping chunks that hold only blank lines and comments.
pub fn split_documents(stream: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for line in stream.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n').trim_end_matches('\r');
        if bare == "---" || bare == "..." {
            chunks.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
        }
    }
    chunks.push(current);
    chunks.into_iter().filter(|c| has_content(c)).collect()
}

fn has_content(chunk: &str) -> bool {
    chunk.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    })
}

pub fn parse_document(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str_with_options(
        text,
        serde_saphyr::options! { legacy_octal_numbers: true, with_snippet: false },
    )
    .map_err(|e| e.to_string())
}

pub struct Document {
    pub text: String,
    pub value: Value,
}

impl Document {
    pub fn ident(&self) -> Option<Ident> {
        ident(&self.value)
    }

    /// The chunk's `# Source: <file>` line, if any.
    pub fn source_line(&self) -> Option<&str> {
        self.text.lines().find(|l| l.starts_with("# Source: "))
    }

    pub fn annotation(&self, name: &str) -> Option<&Value> {
        annotations_of(&self.value).and_then(|a| a.get(name))
    }
}

pub fn read_stream(stream: &str) -> Result<Vec<Document>, String> {
    split_documents(stream)
        .into_iter()
        .enumerate()
        .map(|(i, text)| match parse_document(&text) {
            Ok(value) => Ok(Document { text, value }),
            Err(e) => Err(format!("document {} does not parse: {e}", i + 1)),
        })
        .collect()
}

/// (kind, namespace, name) of an object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ident {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} '{}/{}'", self.kind, ns, self.name),
            None => write!(f, "{} '{}'", self.kind, self.name),
        }
    }
}

pub fn ident(obj: &Value) -> Option<Ident> {
    let kind = obj.get("kind")?.as_str()?.to_string();
    let meta = obj.get("metadata");
    let field = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Some(Ident {
        kind,
        namespace: field("namespace"),
        name: field("name").unwrap_or_default(),
    })
}

pub fn annotations_of(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.get("annotations")?.as_object()
}

pub fn is_config(kind: &str) -> bool {
    kind == "Secret" || kind == "ConfigMap"
}

/// Two namespaces can name the same place when equal or when either is left to the release.
fn same_namespace(a: &Option<String>, b: &Option<String>) -> bool {
    a.is_none() || b.is_none() || a == b
}

/// Annotation values are strings; tolerate scalars written unquoted.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!("{}...", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

// ----------------------------------------------------------------------------------------------
// Pod templates and env entries

/// A pod template inside a document, addressed by JSON pointer so the same template can be found
/// in the output document.
#[derive(Clone, Debug)]
pub struct PodTemplate {
    /// Pointer to the object that holds `metadata` and `spec` of the pod.
    pub pointer: String,
    /// Kind of the object that owns the template (`Deployment`, `Pod`, ...).
    pub owner_kind: String,
    /// Namespace of the owning object.
    pub namespace: Option<String>,
    /// Job or CronJob pod: the agent must pre-populate only.
    pub batch: bool,
    /// The owning object is a Helm hook.
    pub hook: bool,
}

pub fn pod_templates(doc: &Value) -> Vec<PodTemplate> {
    let mut found = Vec::new();
    collect_pod_templates(doc, "", &mut found);
    found
}

fn collect_pod_templates(obj: &Value, base: &str, found: &mut Vec<PodTemplate>) {
    let Some(kind) = obj.get("kind").and_then(Value::as_str) else {
        return;
    };
    if kind == "List" {
        if let Some(items) = obj.get("items").and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                collect_pod_templates(item, &format!("{base}/items/{i}"), found);
            }
        }
        return;
    }
    let relative = match kind {
        "Pod" => "",
        "CronJob" => "/spec/jobTemplate/spec/template",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "Rollout" => {
            "/spec/template"
        }
        _ => return,
    };
    let pointer = format!("{base}{relative}");
    // `obj` is the object at `base`; the template is `relative` inside it.
    let Some(template) = obj.pointer(relative) else {
        return;
    };
    if !template.is_object() {
        return;
    }
    let hook = annotations_of(obj)
        .and_then(|a| a.get(HOOK_ANNOTATION))
        .is_some_and(|h| !scalar_text(h).is_empty());
    found.push(PodTemplate {
        pointer,
        owner_kind: kind.to_string(),
        namespace: ident(obj).and_then(|i| i.namespace),
        batch: kind == "Job" || kind == "CronJob",
        hook,
    });
}

/// One env entry of a container of a pod template.
#[derive(Clone, Debug)]
pub struct EnvSite {
    /// Pointer to the env entry.
    pub pointer: String,
    /// Pointer to the container's `env` array.
    pub env_pointer: String,
    pub container: String,
    pub name: String,
}

pub fn env_sites(doc: &Value, template: &PodTemplate) -> Vec<EnvSite> {
    let mut sites = Vec::new();
    for list in ["initContainers", "containers"] {
        let list_ptr = format!("{}/spec/{list}", template.pointer);
        let Some(containers) = doc.pointer(&list_ptr).and_then(Value::as_array) else {
            continue;
        };
        for (ci, container) in containers.iter().enumerate() {
            let cname = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let env_pointer = format!("{list_ptr}/{ci}/env");
            let Some(env) = container.get("env").and_then(Value::as_array) else {
                continue;
            };
            for (ei, entry) in env.iter().enumerate() {
                sites.push(EnvSite {
                    pointer: format!("{env_pointer}/{ei}"),
                    env_pointer: env_pointer.clone(),
                    container: cname.clone(),
                    name: entry
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                });
            }
        }
    }
    sites
}

/// A `secretKeyRef` / `configMapKeyRef` of an env entry: (object kind, object name, key).
pub fn key_ref(entry: &Value) -> Option<(&'static str, String, String)> {
    let from = entry.get("valueFrom")?;
    for (field, kind) in [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")] {
        if let Some(r) = from.get(field) {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            let key = r.get("key").and_then(Value::as_str)?;
            return Some((kind, name.to_string(), key.to_string()));
        }
    }
    None
}

/// The key an env entry carries: its keyRef key when listed, else its name when listed.
/// (vaultwire leaves a literal namesake of a key read by reference elsewhere alone; see
/// `carried_in_stream`.)
pub fn carried_key(entry: &Value, keys: &BTreeSet<String>) -> Option<String> {
    if let Some((_, _, key)) = key_ref(entry) {
        if keys.contains(&key) {
            return Some(key);
        }
    }
    let name = entry.get("name").and_then(Value::as_str)?;
    keys.contains(name).then(|| name.to_string())
}

/// The key an entry carries in a stream where `by_reference` are the keys some entry reads
/// through a keyRef: a literal entry that only shares such a key's name is a different setting
/// (the dataservice's own `PORT` beside the gateway's `PORT` key), so it carries nothing.
pub fn carried_in_stream(
    entry: &Value,
    keys: &BTreeSet<String>,
    by_reference: &BTreeSet<String>,
) -> Option<String> {
    let key = carried_key(entry, keys)?;
    let literal_namesake = key_ref(entry).is_none() && entry.get("value").is_some();
    (!(literal_namesake && by_reference.contains(&key))).then_some(key)
}

/// Keys that some env entry of the stream reads through a keyRef.
pub fn keys_read_by_reference(docs: &[Document], keys: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for doc in docs {
        for t in pod_templates(&doc.value) {
            for site in env_sites(&doc.value, &t) {
                if let Some((_, _, k)) = doc.value.pointer(&site.pointer).and_then(key_ref) {
                    if keys.contains(&k) {
                        found.insert(k);
                    }
                }
            }
        }
    }
    found
}

/// Whether any pod template env entry of the document carries a key.
pub fn carries_keys(doc: &Value, keys: &BTreeSet<String>, by_reference: &BTreeSet<String>) -> bool {
    pod_templates(doc).iter().any(|t| {
        env_sites(doc, t).iter().any(|s| {
            doc.pointer(&s.pointer)
                .and_then(|e| carried_in_stream(e, keys, by_reference))
                .is_some()
        })
    })
}

/// Keys that env keyRefs of the stream's workloads read from a Secret/ConfigMap rendered in it.
pub fn stream_config_keys(docs: &[Document]) -> BTreeSet<String> {
    let rendered: Vec<Ident> = docs
        .iter()
        .filter_map(Document::ident)
        .filter(|i| is_config(&i.kind))
        .collect();
    let mut keys = BTreeSet::new();
    for doc in docs {
        for t in pod_templates(&doc.value) {
            for site in env_sites(&doc.value, &t) {
                let Some((kind, name, key)) = doc.value.pointer(&site.pointer).and_then(key_ref)
                else {
                    continue;
                };
                if rendered.iter().any(|r| {
                    r.kind == kind && r.name == name && same_namespace(&r.namespace, &t.namespace)
                }) {
                    keys.insert(key);
                }
            }
        }
    }
    keys
}

/// A reference to a Secret/ConfigMap from a pod or service account: (kind, namespace, name).
type ConfigRef = (String, Option<String>, String);

/// Every Secret/ConfigMap a stream references: env keyRefs, envFrom, volumes (also projected),
/// imagePullSecrets of pods and service accounts.
pub fn config_references(docs: &[Document]) -> Vec<ConfigRef> {
    let mut refs = Vec::new();
    let mut add = |kind: &str, ns: &Option<String>, name: Option<&Value>| {
        if let Some(name) = name.and_then(Value::as_str) {
            refs.push((kind.to_string(), ns.clone(), name.to_string()));
        }
    };
    for doc in docs {
        if let Some(id) = doc.ident().filter(|i| i.kind == "ServiceAccount") {
            for field in ["imagePullSecrets", "secrets"] {
                for s in doc
                    .value
                    .get(field)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    add("Secret", &id.namespace, s.get("name"));
                }
            }
        }
        for t in pod_templates(&doc.value) {
            let Some(spec) = doc.value.pointer(&format!("{}/spec", t.pointer)) else {
                continue;
            };
            let ns = &t.namespace;
            let arr = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
            for s in arr(spec.get("imagePullSecrets")) {
                add("Secret", ns, s.get("name"));
            }
            for v in arr(spec.get("volumes")) {
                add("Secret", ns, v.pointer("/secret/secretName"));
                add("ConfigMap", ns, v.pointer("/configMap/name"));
                for src in arr(v.pointer("/projected/sources")) {
                    add("Secret", ns, src.pointer("/secret/name"));
                    add("ConfigMap", ns, src.pointer("/configMap/name"));
                }
            }
            for list in ["initContainers", "containers", "ephemeralContainers"] {
                for c in arr(spec.get(list)) {
                    for from in arr(c.get("envFrom")) {
                        add("Secret", ns, from.pointer("/secretRef/name"));
                        add("ConfigMap", ns, from.pointer("/configMapRef/name"));
                    }
                    for e in arr(c.get("env")) {
                        if let Some((kind, name, _)) = key_ref(&e) {
                            add(kind, ns, Some(&Value::String(name)));
                        }
                    }
                }
            }
        }
    }
    refs
}

/// An env keyRef: (object kind, workload namespace, object name, key).
pub type EnvKeyRef = (String, Option<String>, String, String);

/// Every env keyRef of a stream.
pub fn env_key_refs(docs: &[Document]) -> Vec<EnvKeyRef> {
    let mut refs = Vec::new();
    for doc in docs {
        for t in pod_templates(&doc.value) {
            for site in env_sites(&doc.value, &t) {
                if let Some((kind, name, key)) = doc.value.pointer(&site.pointer).and_then(key_ref)
                {
                    refs.push((kind.to_string(), t.namespace.clone(), name, key));
                }
            }
        }
    }
    refs
}

// ----------------------------------------------------------------------------------------------
// Vault Agent Injector annotations, read the way vault-k8s reads them

/// One secret the injector renders, as vault-k8s derives it from pod annotations.
#[derive(Clone, Debug)]
pub struct InjectedSecret {
    /// The `<raw>` part of `agent-inject-secret-<raw>`.
    pub raw: String,
    /// `raw`, lower-cased unless its case is preserved.
    pub name: String,
    /// Value of `agent-inject-secret-<raw>`.
    pub vault_path: String,
    pub template: Option<String>,
    pub template_file: Option<String>,
    /// Where the agent writes it: `<dir>/<file>`.
    pub file_path: String,
}

/// Go's `strconv.ParseBool` true values.
fn go_true(v: Option<&Value>) -> bool {
    matches!(
        v.map(scalar_text).as_deref(),
        Some("1" | "t" | "T" | "TRUE" | "true" | "True")
    )
}

/// A `vault.hashicorp.com/<name>` annotation's text; empty counts as absent, as in vault-k8s.
pub fn vault_annotation(ann: &Map<String, Value>, name: &str) -> Option<String> {
    ann.get(&format!("{VAULT_PREFIX}{name}"))
        .map(scalar_text)
        .filter(|s| !s.is_empty())
}

pub fn vault_k8s_secrets(ann: &Map<String, Value>) -> Vec<InjectedSecret> {
    let secret_prefix = format!("{VAULT_PREFIX}agent-inject-secret-");
    let global_case = go_true(ann.get(&format!("{VAULT_PREFIX}preserve-secret-case")));
    let mut secrets = Vec::new();
    for (key, value) in ann {
        let Some(raw) = key.strip_prefix(&secret_prefix) else {
            continue;
        };
        if raw.is_empty() {
            continue;
        }
        let preserve =
            go_true(ann.get(&format!("{VAULT_PREFIX}preserve-secret-case-{raw}"))) || global_case;
        let name = if preserve {
            raw.to_string()
        } else {
            raw.to_lowercase()
        };
        let dir = vault_annotation(ann, &format!("secret-volume-path-{raw}"))
            .or_else(|| vault_annotation(ann, "secret-volume-path"))
            .unwrap_or_else(|| DEFAULT_SECRET_DIR.to_string());
        let file =
            vault_annotation(ann, &format!("agent-inject-file-{raw}")).unwrap_or(name.clone());
        secrets.push(InjectedSecret {
            raw: raw.to_string(),
            name,
            vault_path: scalar_text(value),
            template: vault_annotation(ann, &format!("agent-inject-template-{raw}")),
            template_file: vault_annotation(ann, &format!("agent-inject-template-file-{raw}")),
            file_path: format!("{dir}/{file}"),
        });
    }
    secrets
}

/// `^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`, at most 63 characters.
pub fn legal_annotation_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    name.len() <= 63
        && first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Strings that follow `marker` up to the next `"`.
fn quoted_after(text: &str, marker: &str) -> Vec<String> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &text[at + marker.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// The KV v2 keys a Consul template reads: `.Data.data.K` and `index .Data.data "K"`.
pub fn template_kv2_keys(template: &str) -> BTreeSet<String> {
    let text = collapse_whitespace(template);
    let mut keys: BTreeSet<String> = quoted_after(&text, "index .Data.data \"")
        .into_iter()
        .collect();
    for (at, marker) in text.match_indices(".Data.data.") {
        let rest = &text[at + marker.len()..];
        let key: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !key.is_empty() {
            keys.insert(key);
        }
    }
    keys
}

/// The Vault paths a Consul template reads with `secret "<path>"`.
pub fn template_secret_paths(template: &str) -> Vec<String> {
    quoted_after(&collapse_whitespace(template), "secret \"")
}

/// Ok when the template reads exactly `key` (KV v2) from exactly `vault_path`.
pub fn check_template_reads(template: &str, key: &str, vault_path: &str) -> Result<(), String> {
    let paths = template_secret_paths(template);
    if paths.is_empty() || paths.iter().any(|p| p != vault_path) {
        return Err(format!(
            "template reads paths {paths:?}, expected only {vault_path:?}: {template:?}"
        ));
    }
    let keys = template_kv2_keys(template);
    if keys.len() != 1 || !keys.contains(key) {
        return Err(format!(
            "template reads keys {keys:?}, expected exactly {key:?}: {template:?}"
        ));
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// One run of the binary, checked against the contract

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Partial,
    Mount,
    Full,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Partial, Mode::Mount, Mode::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Partial => "partial",
            Mode::Mount => "mount",
            Mode::Full => "full",
        }
    }
}

/// A run of the binary: which fixture, which flags.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name of the fixture, for messages.
    pub fixture: String,
    pub mode: Mode,
    /// Keys passed with `-k`.
    pub keys: Vec<String>,
    /// `--secret` (partial, full).
    pub secret: String,
    /// `--vault-path` (mount).
    pub vault_path: String,
    /// `--role` (mount).
    pub role: String,
    pub keep_plaintext: bool,
    /// `--prune-without-hooks`: a Helm 3 stream of a chart known to have no hooks.
    pub prune_without_hooks: bool,
    pub force: bool,
}

impl Scenario {
    pub fn new(fixture: &str, mode: Mode, keys: &[&str]) -> Self {
        Scenario {
            fixture: fixture.to_string(),
            mode,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            secret: "vault-synced".to_string(),
            vault_path: "kv/data/app/config".to_string(),
            role: "app".to_string(),
            keep_plaintext: false,
            prune_without_hooks: false,
            force: false,
        }
    }

    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["-m".to_string(), self.mode.as_str().to_string()];
        match self.mode {
            Mode::Partial | Mode::Full => {
                args.extend(["--secret".to_string(), self.secret.clone()]);
            }
            Mode::Mount => {
                args.extend(["--vault-path".to_string(), self.vault_path.clone()]);
                args.extend(["--role".to_string(), self.role.clone()]);
            }
        }
        for k in &self.keys {
            args.extend(["-k".to_string(), k.clone()]);
        }
        if self.keep_plaintext {
            args.push("--keep-plaintext".to_string());
        }
        if self.prune_without_hooks {
            args.push("--prune-without-hooks".to_string());
        }
        if self.force {
            args.push("--force".to_string());
        }
        args
    }

    /// `fixture [vaultwire -m ...]` for messages.
    pub fn label(&self) -> String {
        format!("{} [vaultwire {}]", self.fixture, self.args().join(" "))
    }
}

/// An env entry that carried a key, as it came out.
#[derive(Clone, Debug)]
pub struct Rewrite {
    pub workload: Ident,
    pub container: String,
    pub env: String,
    pub key: String,
}

pub struct Checked {
    pub output: String,
    pub rewrites: Vec<Rewrite>,
    pub failures: Vec<String>,
}

/// Runs the scenario and checks a failure: non-zero exit, empty stdout, a message on stderr that
/// contains one of `needles` (case-insensitive).
pub fn expect_failure(sc: &Scenario, input: &str, needles: &[&str]) -> Vec<String> {
    let run = run_vaultwire(&sc.args(), input);
    let mut failures = Vec::new();
    let label = sc.label();
    if run.success() {
        failures.push(format!("{label}: expected an error, got exit 0"));
    }
    if !run.stdout.is_empty() {
        failures.push(format!(
            "{label}: error run must leave stdout empty, got {} bytes",
            run.stdout.len()
        ));
    }
    let err = run.stderr.to_lowercase();
    if run.stderr.trim().is_empty() {
        failures.push(format!("{label}: error run printed no message on stderr"));
    } else if !needles.iter().any(|n| err.contains(&n.to_lowercase())) {
        failures.push(format!(
            "{label}: stderr should mention one of {needles:?}, got {:?}",
            run.stderr.trim()
        ));
    }
    failures
}

/// Runs the scenario on `input`, checks every property of the contract on the output and that a
/// second run on the output changes nothing.
///
/// For `full` without `-k` the effective key set is the one the stream's keyRefs read from its
/// own Secrets/ConfigMaps; the second run then lists those keys explicitly, because the output no
/// longer references an in-stream object and the contract makes a key-less `full` run on it an
/// error.
pub fn run_and_check(sc: &Scenario, input: &str) -> Checked {
    let label = sc.label();
    let run = run_vaultwire(&sc.args(), input);
    if !run.success() {
        return Checked {
            output: run.stdout,
            rewrites: Vec::new(),
            failures: vec![format!(
                "{label}: exit {:?}, stderr: {}",
                run.code,
                run.stderr.trim()
            )],
        };
    }
    let (keys, mut checked) = check_output(sc, input, &run.stdout);
    let mut again = sc.clone();
    if sc.mode == Mode::Full && sc.keys.is_empty() {
        again.keys = keys.into_iter().collect();
    }
    let second = run_vaultwire(&again.args(), &checked.output);
    if !second.success() {
        checked.failures.push(format!(
            "{}: second run on the output failed (exit {:?}): {}",
            again.label(),
            second.code,
            second.stderr.trim()
        ));
    } else if second.stdout != checked.output {
        checked.failures.push(format!(
            "{}: not idempotent: second run changed the output ({})",
            again.label(),
            first_text_difference(&checked.output, &second.stdout)
        ));
    }
    checked
}

/// Checks `output` as the result of running the scenario on `input` (without running anything).
/// Also returns the effective key set.
pub fn check_output(sc: &Scenario, input: &str, output: &str) -> (BTreeSet<String>, Checked) {
    let input_docs = read_stream(input)
        .unwrap_or_else(|e| panic!("{}: fixture does not parse: {e}", sc.fixture));
    let keys: BTreeSet<String> = if sc.mode == Mode::Full && sc.keys.is_empty() {
        stream_config_keys(&input_docs)
    } else {
        sc.keys.iter().cloned().collect()
    };
    let by_reference = keys_read_by_reference(&input_docs, &keys);
    let mut checker = Checker {
        sc,
        label: sc.label(),
        keys: &keys,
        by_reference: &by_reference,
        failures: Vec::new(),
        rewrites: Vec::new(),
    };
    checker.check_stream(&input_docs, output);
    let checked = Checked {
        output: output.to_string(),
        rewrites: checker.rewrites,
        failures: checker.failures,
    };
    (keys, checked)
}

fn first_text_difference(a: &str, b: &str) -> String {
    for (i, (la, lb)) in a.lines().zip(b.lines()).enumerate() {
        if la != lb {
            return format!("line {}: {la:?} became {lb:?}", i + 1);
        }
    }
    format!(
        "{} lines became {} lines",
        a.lines().count(),
        b.lines().count()
    )
}

/// Pointer and values where two JSON values first differ.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &format!("{at}/{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{at}/{k} removed (was {})", short(va))),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}/{k} added: {}", short(&y[k])))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{at}/{i}"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {} became {}", short(a), short(b))),
    }
}

fn set_template_annotations(doc: &mut Value, template_ptr: &str, ann: Option<&Value>) {
    let Some(template) = doc.pointer_mut(template_ptr).and_then(Value::as_object_mut) else {
        return;
    };
    let meta = template
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        match ann {
            Some(a) => {
                meta.insert("annotations".to_string(), a.clone());
            }
            None => {
                meta.remove("annotations");
            }
        }
    }
}

/// What must happen to one key of a chart-rendered Secret/ConfigMap.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KeyFate {
    Keep,
    Remove,
    /// The contract does not decide (an entry carried a key by name, not by this key).
    Either,
}

struct Checker<'a> {
    sc: &'a Scenario,
    label: String,
    keys: &'a BTreeSet<String>,
    by_reference: &'a BTreeSet<String>,
    failures: Vec<String>,
    rewrites: Vec<Rewrite>,
}

impl Checker<'_> {
    fn carried(&self, entry: &Value) -> Option<String> {
        carried_in_stream(entry, self.keys, self.by_reference)
    }

    fn fail(&mut self, doc: &dyn fmt::Display, msg: String) {
        self.failures.push(format!("{}: {doc}: {msg}", self.label));
    }

    fn check_stream(&mut self, inputs: &[Document], output: &str) {
        let outputs = match read_stream(output) {
            Ok(d) => d,
            Err(e) => {
                self.fail(&"output", e);
                return;
            }
        };
        // Match output documents to input documents by identity, in order of appearance.
        let mut by_ident: HashMap<Ident, VecDeque<usize>> = HashMap::new();
        for (j, d) in outputs.iter().enumerate() {
            if let Some(id) = d.ident() {
                by_ident.entry(id).or_default().push_back(j);
            }
        }
        let mut used = vec![false; outputs.len()];
        let (rewritten_away, carried_by_name) = self.keyrefs_rewritten_away(inputs);
        let out_key_refs = env_key_refs(&outputs);
        let out_refs = config_references(&outputs);
        let mut dropped = 0;

        for (i, input) in inputs.iter().enumerate() {
            let Some(id) = input.ident() else {
                // Not an object: it must come out as it was.
                match (0..outputs.len()).find(|&j| !used[j] && outputs[j].text == input.text) {
                    Some(j) => used[j] = true,
                    None => self.fail(
                        &format!("document {}", i + 1),
                        "non-object document missing or changed".into(),
                    ),
                }
                continue;
            };
            let out = by_ident.get_mut(&id).and_then(VecDeque::pop_front);
            if let Some(j) = out {
                used[j] = true;
                self.check_kept_markers(&id, input, &outputs[j]);
            }
            let out = out.map(|j| &outputs[j]);
            if is_config(&id.kind) {
                let ctx = ConfigContext {
                    rewritten_away: &rewritten_away,
                    carried_by_name: &carried_by_name,
                    out_key_refs: &out_key_refs,
                    out_refs: &out_refs,
                };
                if self.check_config(&id, input, out, &ctx) {
                    dropped += 1;
                }
            } else if let Some(out) = out {
                if carries_keys(&input.value, self.keys, self.by_reference) {
                    self.check_workload(&id, input, out);
                } else if out.text != input.text {
                    self.fail(
                        &id,
                        format!(
                            "carries no key, must come out byte-identical ({})",
                            first_text_difference(&input.text, &out.text)
                        ),
                    );
                }
            } else {
                self.fail(&id, "missing from the output".into());
            }
        }
        for (j, d) in outputs.iter().enumerate() {
            if !used[j] {
                let what = d
                    .ident()
                    .map(|i| i.to_string())
                    .unwrap_or(format!("output document {}", j + 1));
                self.fail(&what, "unexpected document in the output".into());
            }
        }
        if outputs.len() + dropped != inputs.len() {
            self.fail(
                &"stream",
                format!(
                    "{} documents out, expected {} in minus {dropped} dropped",
                    outputs.len(),
                    inputs.len()
                ),
            );
        }
    }

    /// The Helm 4 filename annotation and the Helm 3 `# Source:` line survive.
    fn check_kept_markers(&mut self, id: &Ident, input: &Document, out: &Document) {
        if let Some(name) = input.annotation(FILENAME_ANNOTATION) {
            let got = out.annotation(FILENAME_ANNOTATION);
            if got != Some(name) {
                self.fail(
                    id,
                    format!("annotation {FILENAME_ANNOTATION} was {name}, came out as {got:?}"),
                );
            }
        }
        if let Some(line) = input.source_line() {
            if !out.text.lines().any(|l| l == line) {
                self.fail(id, format!("lost its {line:?} line"));
            }
        }
    }

    /// keyRefs (kind, workload namespace, object name, key) that a rewrite takes away: the entry
    /// carried exactly that key. Second set: keyRefs of entries carried by their name instead.
    fn keyrefs_rewritten_away(&self, inputs: &[Document]) -> (Vec<EnvKeyRef>, Vec<EnvKeyRef>) {
        let mut away = Vec::new();
        let mut by_name = Vec::new();
        for doc in inputs {
            for t in pod_templates(&doc.value) {
                for site in env_sites(&doc.value, &t) {
                    let Some(entry) = doc.value.pointer(&site.pointer) else {
                        continue;
                    };
                    let (Some(carried), Some((kind, name, key))) =
                        (self.carried(entry), key_ref(entry))
                    else {
                        continue;
                    };
                    let r = (kind.to_string(), t.namespace.clone(), name, key.clone());
                    if carried == key {
                        away.push(r);
                    } else {
                        by_name.push(r);
                    }
                }
            }
        }
        (away, by_name)
    }

    fn check_workload(&mut self, id: &Ident, input: &Document, out: &Document) {
        let mut expected = input.value.clone();
        for t in pod_templates(&input.value) {
            if out.value.pointer(&t.pointer).is_none() {
                self.fail(id, format!("pod template {} missing", t.pointer));
                continue;
            }
            let sites = env_sites(&input.value, &t);
            self.check_env_lengths(id, &input.value, &out.value, &sites);
            let carrying = sites.iter().any(|s| {
                input
                    .value
                    .pointer(&s.pointer)
                    .and_then(|e| self.carried(e))
                    .is_some()
            });
            let injected = if self.sc.mode == Mode::Mount && carrying {
                let ann_ptr = format!("{}/metadata/annotations", t.pointer);
                let out_ann = out.value.pointer(&ann_ptr);
                self.check_injector_annotations(id, &t, input.value.pointer(&ann_ptr), out_ann);
                set_template_annotations(&mut expected, &t.pointer, out_ann);
                out_ann
                    .and_then(Value::as_object)
                    .map(vault_k8s_secrets)
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let ann = out
                .value
                .pointer(&format!("{}/metadata/annotations", t.pointer))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for site in &sites {
                let (Some(before), Some(after)) = (
                    input.value.pointer(&site.pointer),
                    out.value.pointer(&site.pointer),
                ) else {
                    continue; // reported by check_env_lengths
                };
                let at = format!("{id} container '{}' env {}", site.container, site.name);
                match self.carried(before) {
                    None => {
                        if after != before {
                            self.fail(
                                &at,
                                format!(
                                    "carries no key but changed: {} became {}",
                                    short(before),
                                    short(after)
                                ),
                            );
                        }
                    }
                    Some(key) => {
                        self.check_rewritten_entry(&at, &site.name, &key, after, &injected, &ann);
                        self.rewrites.push(Rewrite {
                            workload: id.clone(),
                            container: site.container.clone(),
                            env: site.name.clone(),
                            key,
                        });
                        if let Some(slot) = expected.pointer_mut(&site.pointer) {
                            *slot = after.clone();
                        }
                    }
                }
            }
        }
        if let Some(diff) = first_difference(&expected, &out.value, "") {
            self.fail(
                id,
                format!(
                    "changed outside the rewritten env entries and injector annotations: {diff}"
                ),
            );
        }
    }

    fn check_env_lengths(&mut self, id: &Ident, before: &Value, after: &Value, sites: &[EnvSite]) {
        let lists: BTreeSet<&str> = sites.iter().map(|s| s.env_pointer.as_str()).collect();
        for list in lists {
            let n_in = before
                .pointer(list)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let n_out = after
                .pointer(list)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if n_in != n_out {
                self.fail(id, format!("{list} had {n_in} entries, has {n_out}"));
            }
            for site in sites.iter().filter(|s| s.env_pointer == list) {
                let got = after
                    .pointer(&site.pointer)
                    .and_then(|e| e.get("name"))
                    .and_then(Value::as_str);
                if got != Some(site.name.as_str()) {
                    self.fail(
                        id,
                        format!("{} was env {}, is {got:?}", site.pointer, site.name),
                    );
                }
            }
        }
    }

    fn check_rewritten_entry(
        &mut self,
        at: &str,
        name: &str,
        key: &str,
        after: &Value,
        injected: &[InjectedSecret],
        ann: &Map<String, Value>,
    ) {
        match self.sc.mode {
            Mode::Partial | Mode::Full => {
                let want = serde_json::json!({
                    "name": name,
                    "valueFrom": {"secretKeyRef": {"name": self.sc.secret, "key": key}}
                });
                if *after != want {
                    self.fail(
                        &at,
                        format!("carries {key}: expected {want}, got {}", short(after)),
                    );
                }
            }
            Mode::Mount => {
                let obj = after.as_object();
                let path = after.get("value").and_then(Value::as_str);
                let shape_ok = obj.is_some_and(|o| o.len() == 2 && o.contains_key("name"));
                let Some(path) = path.filter(|_| shape_ok) else {
                    self.fail(
                        &at,
                        format!(
                            "carries {key}: expected {{name, value: <path>}}, got {}",
                            short(after)
                        ),
                    );
                    return;
                };
                let writers: Vec<&InjectedSecret> =
                    injected.iter().filter(|s| s.file_path == path).collect();
                if writers.is_empty() {
                    let paths: Vec<&str> = injected.iter().map(|s| s.file_path.as_str()).collect();
                    self.fail(
                        &at,
                        format!("value {path:?} is not a file the injector writes (it writes {paths:?})"),
                    );
                }
                for w in writers {
                    self.check_writer(at, key, path, w, ann);
                }
            }
        }
    }

    /// One annotation set that writes the file an env entry reads: it must render `key`.
    fn check_writer(
        &mut self,
        at: &str,
        key: &str,
        path: &str,
        w: &InjectedSecret,
        ann: &Map<String, Value>,
    ) {
        let raw = &w.raw;
        if w.vault_path != self.sc.vault_path {
            self.fail(
                &at,
                format!(
                    "{VAULT_PREFIX}agent-inject-secret-{raw} (writes {path}) is {:?}, expected {:?}",
                    w.vault_path, self.sc.vault_path
                ),
            );
        }
        if let Some(file) = &w.template_file {
            self.fail(
                &at,
                format!(
                    "{path} is rendered from template file {file:?}, expected an inline template"
                ),
            );
        }
        match &w.template {
            None => self.fail(
                &at,
                format!("no {VAULT_PREFIX}agent-inject-template-{raw} for {path}"),
            ),
            Some(t) => {
                if let Err(e) = check_template_reads(t, key, &self.sc.vault_path) {
                    self.fail(&at, format!("{path} (secret {raw}): {e}"));
                }
            }
        }
        let missing = format!("{VAULT_PREFIX}error-on-missing-key-{raw}");
        if ann.get(&missing).map(scalar_text).as_deref() != Some("true") {
            self.fail(&at, format!("{missing} must be \"true\""));
        }
    }

    fn check_injector_annotations(
        &mut self,
        id: &Ident,
        t: &PodTemplate,
        before: Option<&Value>,
        after: Option<&Value>,
    ) {
        let empty = Map::new();
        let after = after.and_then(Value::as_object).unwrap_or(&empty);
        let before = before.and_then(Value::as_object).unwrap_or(&empty);
        let want = |name: &str| format!("{VAULT_PREFIX}{name}");
        let get = |name: &str| after.get(&want(name)).map(scalar_text);
        if get("agent-inject").as_deref() != Some("true") {
            self.fail(
                id,
                format!(
                    "{} is {:?}, expected \"true\"",
                    want("agent-inject"),
                    get("agent-inject")
                ),
            );
        }
        if get("role").as_deref() != Some(self.sc.role.as_str()) {
            self.fail(
                id,
                format!(
                    "{} is {:?}, expected {:?}",
                    want("role"),
                    get("role"),
                    self.sc.role
                ),
            );
        }
        if (t.batch || t.hook) && get("agent-pre-populate-only").as_deref() != Some("true") {
            self.fail(
                id,
                format!(
                    "{} pod (hook: {}) needs {} \"true\", got {:?}",
                    t.owner_kind,
                    t.hook,
                    want("agent-pre-populate-only"),
                    get("agent-pre-populate-only")
                ),
            );
        }
        for name in after.keys() {
            if let Some(part) = name.strip_prefix(VAULT_PREFIX) {
                if !legal_annotation_name(part) {
                    self.fail(id, format!("illegal annotation name {name:?}"));
                }
            }
        }
        for (name, value) in before {
            let overwritable = self.sc.force && name.starts_with(VAULT_PREFIX);
            if !overwritable && after.get(name) != Some(value) {
                self.fail(
                    id,
                    format!(
                        "pod annotation {name} was {}, is {:?}",
                        short(value),
                        after.get(name).map(short)
                    ),
                );
            }
        }
    }

    /// Checks a Secret/ConfigMap; returns whether it was (legitimately or not) dropped.
    fn check_config(
        &mut self,
        id: &Ident,
        input: &Document,
        out: Option<&Document>,
        ctx: &ConfigContext<'_>,
    ) -> bool {
        if self.sc.keep_plaintext {
            match out {
                None => self.fail(id, "dropped despite --keep-plaintext".into()),
                Some(o) if o.text != input.text => self.fail(
                    id,
                    format!(
                        "--keep-plaintext: must be byte-identical ({})",
                        first_text_difference(&input.text, &o.text)
                    ),
                ),
                Some(_) => {}
            }
            return out.is_none();
        }
        let fates = self.key_fates(id, &input.value, ctx);
        let removes = fates.iter().filter(|f| f.2 == KeyFate::Remove).count();
        let either = fates.iter().any(|f| f.2 == KeyFate::Either);
        let keeps = fates.iter().filter(|f| f.2 == KeyFate::Keep).count()
            + input
                .value
                .get("binaryData")
                .and_then(Value::as_object)
                .map_or(0, Map::len);
        let referenced = ctx.out_refs.iter().any(|(kind, ns, name)| {
            *kind == id.kind && *name == id.name && same_namespace(ns, &id.namespace)
        });
        // None: the contract does not decide.
        let must_drop = (!either).then_some(removes > 0 && keeps == 0 && !referenced);
        let Some(out) = out else {
            if must_drop == Some(false) {
                self.fail(
                    id,
                    format!(
                        "dropped, but it keeps {keeps} key(s) or is still referenced (referenced: {referenced})"
                    ),
                );
            }
            return true;
        };
        if must_drop == Some(true) {
            self.fail(
                id,
                "every key was rewritten away and nothing references it: must be dropped".into(),
            );
        }
        if removes == 0 && !either {
            if out.text != input.text {
                self.fail(
                    id,
                    format!(
                        "no key of it was rewritten away: must be byte-identical ({})",
                        first_text_difference(&input.text, &out.text)
                    ),
                );
            }
            return false;
        }
        let mut expected = input.value.clone();
        for (field, key, fate) in &fates {
            let present = out.value.get(field).and_then(|m| m.get(key)).is_some();
            match fate {
                KeyFate::Remove if present => {
                    self.fail(id, format!("plaintext {field}.{key} must be removed"))
                }
                KeyFate::Keep if !present => {
                    self.fail(id, format!("{field}.{key} must be kept, it was removed"))
                }
                _ => {}
            }
            if !present || *fate == KeyFate::Remove {
                if let Some(m) = expected.get_mut(field).and_then(Value::as_object_mut) {
                    m.remove(key);
                }
            }
        }
        for field in ["data", "stringData"] {
            let emptied = expected
                .get(field)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty);
            let had = input
                .value
                .get(field)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty());
            let out_field = out.value.get(field);
            if emptied && had && out_field.is_none_or(Value::is_null) {
                if let Some(obj) = expected.as_object_mut() {
                    obj.remove(field);
                }
            }
        }
        if let Some(diff) = first_difference(&expected, &out.value, "") {
            self.fail(
                id,
                format!("changed beyond removing plaintext keys: {diff}"),
            );
        }
        false
    }

    fn key_fates(
        &self,
        id: &Ident,
        obj: &Value,
        ctx: &ConfigContext<'_>,
    ) -> Vec<(String, String, KeyFate)> {
        let matches = |list: &[EnvKeyRef], key: &str| {
            list.iter().any(|(kind, ns, name, k)| {
                *kind == id.kind
                    && *name == id.name
                    && k == key
                    && same_namespace(ns, &id.namespace)
            })
        };
        let mut fates = Vec::new();
        for field in ["data", "stringData"] {
            for key in obj
                .get(field)
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(Map::keys)
            {
                let still = matches(ctx.out_key_refs, key);
                let fate = if still {
                    KeyFate::Keep
                } else if matches(ctx.rewritten_away, key) {
                    KeyFate::Remove
                } else if matches(ctx.carried_by_name, key) {
                    KeyFate::Either
                } else {
                    KeyFate::Keep
                };
                fates.push((field.to_string(), key.clone(), fate));
            }
        }
        fates
    }
}

struct ConfigContext<'a> {
    rewritten_away: &'a [EnvKeyRef],
    carried_by_name: &'a [EnvKeyRef],
    out_key_refs: &'a [EnvKeyRef],
    out_refs: &'a [ConfigRef],
}
