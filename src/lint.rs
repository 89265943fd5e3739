//! `vaultwire lint`: what in a rendered stream would break at deploy time, above all the
//! integration document's own traps. With a mode configured it lints what vaultwire would emit.
//!
//! Rules:
//! - `unwritten-file`: an env value points into the injector's volume but no annotation writes
//!   that file (the lower-case trap: `agent-inject-secret-KEY` writes `key`);
//! - `annotation-name`: an annotation name longer than 63 characters or not
//!   `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`;
//! - `lookup-literal`: empty literals in a container that reads nothing by reference, the shape
//!   a chart's `lookup` leaves without a cluster;
//! - `duplicate-key`: a mapping key written twice (Kubernetes keeps one silently);
//! - `missing-secret`: env reads a Secret neither rendered nor produced by an operator resource;
//! - `job-sidecar`: a pod that must run to completion gets an injector sidecar that never exits;
//! - `plaintext-copy` (with a mode): a string field of the output equal to a value that moves to
//!   Vault (another Secret or ConfigMap key, an annotation, an env literal);
//! - `literal-secret`: a literal env value whose name looks like a secret;
//! - `init-before-agent`: an init container reads an injector file, but the injector's own
//!   init container runs after the chart's (no `agent-init-first: "true"`);
//! - `path-in-expansion`: `$(VAR)` of a variable whose value is an injector file path, so the
//!   expansion carries the path, not the secret (names ending in `FILE` or `PATH` are meant as
//!   paths and pass);
//! - `exec-without-command`: the injector writes an env file of `export` lines, but no container
//!   command sources it.
//!
//! Messages name env entries and files, never a configuration value.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::document::{object_place, Document};
use crate::error::{Place, Result};
use crate::stream;
use crate::vault::{injector_files, legal_annotation_name, PREFIX};
use crate::workload::{
    items, kind_of, objects, pod_template, runs_to_completion, EnvSource, ObjectRef,
    CONTAINER_LISTS,
};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: &'static str,
    #[serde(flatten)]
    pub at: Place,
    pub container: Option<String>,
    pub env: Option<String>,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = Place {
            container: self.container.clone(),
            env: self.env.clone(),
            ..self.at.clone()
        };
        write!(f, "{}: {place}: {}", self.rule, self.message)
    }
}

/// Lints `input`, or what vaultwire would make of it when `config` names a mode.
pub fn lint(input: &str, config: &Config) -> Result<Vec<Finding>> {
    let wired;
    let mut findings = Vec::new();
    let text = if config.mode.is_some() {
        let out = crate::run(input, config)?;
        for c in &out.report.copies {
            findings.push(Finding {
                rule: "plaintext-copy",
                at: c.at.clone(),
                container: None,
                env: None,
                message: format!(
                    "field {} holds a copy of the value of {}, which moves to Vault; the copy stays in plain text",
                    c.field, c.of
                ),
            });
        }
        wired = out.stream;
        wired.as_str()
    } else {
        input
    };
    let mut chunks = stream::split(text).chunks;
    let docs = match Document::read_every(chunks.clone()) {
        Ok(docs) => docs,
        Err(error) => {
            // The parser refuses a mapping key written twice: report each such document and
            // lint the rest of the stream without it. The documents before the one that failed
            // parsed; any other error stands.
            let Some(failed) =
                Some(error.place().document).filter(|d| (1..=chunks.len()).contains(d))
            else {
                return Err(error);
            };
            for (i, chunk) in chunks.iter_mut().enumerate().skip(failed - 1) {
                let Some((line, key)) = duplicate_key(chunk.body) else {
                    if i + 1 == failed {
                        return Err(error);
                    }
                    continue;
                };
                let place = Place {
                    document: i + 1,
                    source: chunk.source(),
                    kind: chunk.top_level_kind().unwrap_or_default().to_string(),
                    ..Place::default()
                };
                let key = key.map(|k| format!(" '{k}'")).unwrap_or_default();
                findings.push(finding("duplicate-key", &place, None, None, format!(
                    "key{key} is written twice in one mapping (line {} of the stream); Kubernetes keeps one of them silently",
                    chunk.first_line + line - 1
                )));
                chunk.body = "";
            }
            Document::read_every(chunks)?
        }
    };
    let context = Context::new(&docs);
    for doc in &docs {
        let base = doc.place();
        for obj in doc.value.iter().flat_map(objects) {
            let place = object_place(&base, obj);
            annotation_names(obj, &place, &mut findings);
            if let Some(pod) = pod_template(obj) {
                lint_pod(obj, pod, &place, &context, &mut findings);
            }
        }
    }
    Ok(findings)
}

fn finding(
    rule: &'static str,
    place: &Place,
    container: Option<&str>,
    env: Option<&str>,
    message: String,
) -> Finding {
    Finding {
        rule,
        at: place.object(),
        container: container.map(str::to_string),
        env: env.map(str::to_string),
        message,
    }
}

/// What the whole stream provides: Secrets and ConfigMaps (with their data, to follow env
/// values that live there) and the Secrets operator resources will create.
struct Context<'a> {
    objects: Vec<(ObjectRef, &'a Value)>,
    produced: Vec<String>,
}

impl<'a> Context<'a> {
    fn new(docs: &'a [Document<'a>]) -> Self {
        let mut objects = Vec::new();
        let mut produced = Vec::new();
        for obj in docs
            .iter()
            .flat_map(|d| d.value.iter().flat_map(objects_of))
        {
            if let Some(r) = ObjectRef::of(obj) {
                objects.push((r, obj));
            }
            let target = match kind_of(obj) {
                "ExternalSecret" => obj
                    .pointer("/spec/target/name")
                    .or(obj.pointer("/metadata/name")),
                "VaultStaticSecret" | "VaultDynamicSecret" | "VaultPKISecret" => {
                    obj.pointer("/spec/destination/name")
                }
                _ => None,
            };
            produced.extend(target.and_then(Value::as_str).map(str::to_string));
        }
        Context { objects, produced }
    }

    fn renders(&self, r: &ObjectRef) -> bool {
        self.objects.iter().any(|(o, _)| o == r)
            || (r.kind == "Secret" && self.produced.contains(&r.name))
    }

    /// The value an env entry holds, when it can be known from the stream.
    fn value_of(&self, entry: &Value) -> Option<String> {
        match EnvSource::of(entry) {
            EnvSource::Literal => entry
                .get("value")
                .and_then(Value::as_str)
                .map(str::to_string),
            source => {
                let (r, key) = source.object_key()?;
                let (_, obj) = self.objects.iter().find(|(o, _)| *o == r)?;
                if let Some(v) = obj
                    .pointer(&format!("/stringData/{key}"))
                    .and_then(Value::as_str)
                {
                    return Some(v.to_string());
                }
                let raw = obj
                    .pointer(&format!("/data/{key}"))
                    .and_then(Value::as_str)?;
                if r.kind == "Secret" {
                    crate::objects::decode(raw)
                } else {
                    Some(raw.to_string())
                }
            }
        }
    }
}

fn objects_of(v: &Value) -> Vec<&Value> {
    objects(v)
}

fn lint_pod(
    obj: &Value,
    pod: &Value,
    place: &Place,
    context: &Context<'_>,
    findings: &mut Vec<Finding>,
) {
    let empty = serde_json::Map::new();
    let annotations = pod
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let files = injector_files(annotations);
    let injects = annotations
        .get(&format!("{PREFIX}agent-inject"))
        .and_then(Value::as_str)
        == Some("true");
    let volume = annotations
        .get(&format!("{PREFIX}secret-volume-path"))
        .and_then(Value::as_str)
        .unwrap_or(crate::config::DEFAULT_SECRET_VOLUME_PATH)
        .trim_end_matches('/')
        .to_string();
    let pre_populate_only = annotations
        .get(&format!("{PREFIX}agent-pre-populate-only"))
        .and_then(Value::as_str)
        == Some("true");
    if injects && runs_to_completion(obj) && !pre_populate_only {
        findings.push(finding("job-sidecar", place, None, None, format!(
            "a {} must run to completion, but the injector adds a sidecar that never exits: set {PREFIX}agent-pre-populate-only: \"true\"",
            kind_of(obj)
        )));
    }
    if injects {
        agent_file_traps(pod, annotations, &files, place, context, findings);
    }
    for list in CONTAINER_LISTS {
        for c in items(pod, &format!("/spec/{list}")) {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
            let env: Vec<&Value> = items(c, "/env").collect();
            let reads_by_reference = env.iter().any(|e| EnvSource::of(e).object_key().is_some());
            // Secret name -> env entries that read it, one finding per Secret
            let mut missing: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
            for e in &env {
                let ename = e.get("name").and_then(Value::as_str).unwrap_or("");
                let source = EnvSource::of(e);
                if let Some((r, _)) = source.object_key() {
                    let optional = e
                        .pointer("/valueFrom/secretKeyRef/optional")
                        .and_then(Value::as_bool)
                        == Some(true);
                    if r.kind == "Secret" && !optional && !context.renders(&r) {
                        missing.entry(r.name).or_default().push(ename);
                    }
                }
                let value = context.value_of(e);
                if let Some(path) = value
                    .as_deref()
                    .filter(|v| v.starts_with(&format!("{volume}/")))
                {
                    if !files.iter().any(|f| f.path == path) {
                        let hint = files
                            .iter()
                            .find(|f| f.path.eq_ignore_ascii_case(path))
                            .map(|f| format!(" (agent-inject-secret-{} writes {}: vault-k8s lower-cases the name; set agent-inject-file-{} or preserve-secret-case-{})", f.name, f.path, f.name, f.name))
                            .unwrap_or_default();
                        findings.push(finding("unwritten-file", place, Some(cname), Some(ename), format!(
                            "points to {path}, but no injector annotation of this pod writes that file{hint}; the app would take the path itself as the value"
                        )));
                    }
                }
                if source == EnvSource::Literal
                    && crate::selection::looks_secret(ename)
                    && value
                        .as_deref()
                        .is_some_and(crate::selection::secret_like_value)
                {
                    findings.push(finding("literal-secret", place, Some(cname), Some(ename),
                        "a literal that looks like a secret is in plain text in the manifest: move it to Vault (-k, or full mode's --keys-from-literals)".to_string()));
                }
                if !reads_by_reference
                    && source == EnvSource::Literal
                    && value.as_deref() == Some("")
                {
                    findings.push(finding("lookup-literal", place, Some(cname), Some(ename), 
                        "renders as an empty literal in a container that reads nothing from a Secret: the shape a chart's `lookup` leaves under helm template, client dry-runs and GitOps; wire it with vaultwire partial mode".to_string()));
                }
            }
            for (secret, names) in missing {
                findings.push(finding("missing-secret", place, Some(cname), None, format!(
                    "env {} read Secret '{secret}', which the stream neither renders nor has an operator resource create",
                    names.join(", ")
                )));
            }
            for from in items(c, "/envFrom") {
                if let Some(r) = ObjectRef::of_env_from(from) {
                    let optional =
                        from.pointer("/secretRef/optional").and_then(Value::as_bool) == Some(true);
                    if r.kind == "Secret" && !optional && !context.renders(&r) {
                        findings.push(finding("missing-secret", place, Some(cname), None, format!(
                            "envFrom reads Secret '{}', which the stream neither renders nor has an operator resource create", r.name
                        )));
                    }
                }
            }
        }
    }
}

/// The traps of reading injector files: init order, `$(VAR)` of a path, env files nobody sources.
fn agent_file_traps(
    pod: &Value,
    annotations: &serde_json::Map<String, Value>,
    files: &[crate::vault::InjectedFile],
    place: &Place,
    context: &Context<'_>,
    findings: &mut Vec<Finding>,
) {
    let is_path = |v: &str| files.iter().any(|f| f.path == v);
    let init_first = annotations
        .get(&format!("{PREFIX}agent-init-first"))
        .and_then(Value::as_str)
        .is_some_and(|v| matches!(v, "true" | "1" | "t" | "T" | "TRUE" | "True"));
    let strings = |c: &Value| -> Vec<String> {
        ["/command", "/args"]
            .iter()
            .flat_map(|p| items(c, p))
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let mut sourced = Vec::new();
    for list in CONTAINER_LISTS {
        for c in items(pod, &format!("/spec/{list}")) {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
            let argv = strings(c);
            sourced.extend(argv.iter().cloned());
            let mut paths_so_far: Vec<&str> = Vec::new();
            let mut reads_file = argv
                .iter()
                .any(|a| files.iter().any(|f| a.contains(&f.path)));
            for e in items(c, "/env") {
                let ename = e.get("name").and_then(Value::as_str).unwrap_or("");
                let value = context.value_of(e);
                if let Some(text) = e.get("value").and_then(Value::as_str) {
                    for var in crate::expansion::refs(text).filter(|v| paths_so_far.contains(v)) {
                        findings.push(finding("path-in-expansion", place, Some(cname), Some(ename), format!(
                            "expands $({var}), whose value is an injector file path: the result carries the path, not the secret (vaultwire's mount mode composes such values in a file of their own)"
                        )));
                    }
                }
                if value.as_deref().is_some_and(is_path) {
                    reads_file = true;
                    let upper = ename.to_ascii_uppercase();
                    if !upper.ends_with("FILE") && !upper.ends_with("PATH") {
                        paths_so_far.push(ename);
                    }
                }
            }
            for (i, a) in argv.iter().enumerate() {
                for var in crate::expansion::refs(a).filter(|v| paths_so_far.contains(v)) {
                    findings.push(finding("path-in-expansion", place, Some(cname), None, format!(
                        "command/args item {i} expands $({var}), whose value is an injector file path: the program gets the path, not the secret; deliver it with vaultwire's exec delivery"
                    )));
                }
            }
            if list == "initContainers" && reads_file && !init_first {
                findings.push(finding("init-before-agent", place, Some(cname), None, format!(
                    "this init container reads a file the injector writes, but the injector's init container runs after the chart's own: set {PREFIX}agent-init-first: \"true\""
                )));
            }
        }
    }
    for f in files {
        let env_file = f
            .template
            .as_deref()
            .is_some_and(|t| t.lines().any(|l| l.starts_with("export ")));
        if env_file && !sourced.iter().any(|a| a.contains(&f.path)) {
            findings.push(finding("exec-without-command", place, None, None, format!(
                "the injector writes {}, an env file of export lines, but no container's command sources it: a container without a command runs its image's entrypoint, which never reads it",
                f.path
            )));
        }
    }
}

fn annotation_names(obj: &Value, place: &Place, findings: &mut Vec<Finding>) {
    let maps = [
        obj.pointer("/metadata/annotations"),
        pod_template(obj).and_then(|p| p.pointer("/metadata/annotations")),
    ];
    for map in maps.into_iter().flatten().filter_map(Value::as_object) {
        for key in map.keys() {
            let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
            if !legal_annotation_name(name) || prefix.len() > 253 {
                findings.push(finding("annotation-name", place, None, None, format!(
                    "annotation '{key}' is not a legal name: the part after the prefix must be at most 63 characters, letters, digits, '-', '_' and '.', starting and ending alphanumeric ({} characters)",
                    name.len()
                )));
            }
        }
    }
}

/// The mapping key the parser refuses as written twice: the 1-based line of its second
/// occurrence in the document, and the key when it is a scalar.
fn duplicate_key(body: &str) -> Option<(usize, Option<String>)> {
    let error = serde_saphyr::from_str_with_options::<Value>(body, crate::yaml::options()).err()?;
    let mut e = &error;
    loop {
        match e {
            serde_saphyr::Error::DuplicateMappingKey { key, location } => {
                return Some((usize::try_from(location.line()).ok()?, key.clone()));
            }
            serde_saphyr::Error::AliasError { error, .. }
            | serde_saphyr::Error::WithSnippet { error, .. } => e = error,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_secret_data_as_the_api_server_does() {
        assert_eq!(
            crate::objects::decode("L3ZhdWx0L3NlY3JldHMvWA==").as_deref(),
            Some("/vault/secrets/X")
        );
        // a folded value: line breaks are skipped
        assert_eq!(
            crate::objects::decode("L3ZhdWx0L3Nl\nY3JldHMvWA==\n").as_deref(),
            Some("/vault/secrets/X")
        );
        // `??>` is `Pz8+` in the standard alphabet, `Pz8-` in the URL-safe one
        assert_eq!(crate::objects::decode("Pz8+").as_deref(), Some("??>"));
        assert_eq!(crate::objects::decode("Pz8-"), None, "URL-safe alphabet");
        assert_eq!(
            crate::objects::decode("L3ZhdWx0L3NlY3JldHMvWA"),
            None,
            "no padding"
        );
    }

    #[test]
    fn finds_duplicate_keys_per_mapping() {
        assert_eq!(duplicate_key("a: 1\nb:\n  a: 2\n  c: 3\n"), None);
        assert_eq!(
            duplicate_key("a: 1\nb:\n  c: 2\n  c: 3\n"),
            Some((4, Some("c".into())))
        );
        assert_eq!(
            duplicate_key("l:\n- name: x\n  v: 1\n- name: y\n  v: 2\n"),
            None
        );
        assert_eq!(
            duplicate_key("m:\n  \"k\": 1\n  k: 2\n"),
            Some((3, Some("k".into())))
        );
        // flow style, which a line scanner cannot see
        assert_eq!(
            duplicate_key("m: {k: 1, k: 2}\n"),
            Some((1, Some("k".into())))
        );
        // another parse error is not a duplicate key
        assert_eq!(duplicate_key("a: [\n"), None);
    }

    #[test]
    fn a_duplicate_key_is_a_finding_and_the_rest_is_linted() {
        let stream = "kind: ConfigMap\nmetadata: {name: c}\n---\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: x, a: y}\n---\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    metadata:\n      annotations: {vault.hashicorp.com/agent-inject: \"true\"}\n    spec:\n      containers: [{name: c}]\n";
        let found = lint(stream, &Config::default()).unwrap();
        let rules: Vec<&str> = found.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["duplicate-key", "job-sidecar"]);
        assert_eq!(found[0].at.document, 2);
        assert!(
            found[0].message.starts_with("key 'a' is written twice")
                && found[0].message.contains("(line 7 of the stream)"),
            "{}",
            found[0].message
        );
        // any other parse error is still an error
        let broken = format!("{stream}---\nkind: Pod\nmetadata: [\n");
        assert!(lint(&broken, &Config::default()).is_err());
        assert!(lint("a: [\n---\nb: {k: 1, k: 2}\n", &Config::default()).is_err());
    }
}
