//! vaultwire in the browser and in Node: a thin wasm-bindgen shell over the library.
//!
//! Four functions, one error funnel. Everything that crosses the boundary is data (a JS object
//! made from the same serde types the CLI writes with `--report`), except failures, which arrive
//! as a JS `Error` whose message is exactly what the CLI prints after `vaultwire: `.
//!
//! - [`transform`]`(stream, config)` → `{ stream, report, changes }`;
//! - [`candidates`]`(stream)` → per workload the env names and the Secret/ConfigMap keys it reads;
//! - [`lint`]`(stream, config)` → the `vaultwire lint` findings;
//! - [`version`]`()`.
//!
//! `config` is the text of a config file (YAML, or JSON, which is YAML) or a plain JS object
//! with the config file's fields; either way it goes through `Config::from_yaml`, so the page's
//! "download config" text is byte for byte what produced the output.
//!
//! Panics: the release profile aborts on panic (wasm32-unknown-unknown cannot unwind), so
//! nothing here unwraps. Should the library panic anyway, the hook installed on the first call
//! throws a JS `Error` ("internal error: ...") instead of leaving an opaque `unreachable` trap;
//! on native targets (the unit tests) `catch_unwind` does the same job.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use vaultwire::document::Document;
use vaultwire::error::Place;
use vaultwire::report::ChangedDocument;
use vaultwire::workload::{self, EnvSource, ObjectRef, CONTAINER_LISTS};
use vaultwire::{stream, yaml, Config};
use wasm_bindgen::prelude::*;

/// The one error funnel: a `Display` message becomes a JS `Error` with that text.
fn js_error(message: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&message.to_string()).into()
}

/// Runs `f` with panics turned into errors, and its value turned into a JS object.
fn call<T: Serialize>(f: impl FnOnce() -> Result<T, vaultwire::Error>) -> Result<JsValue, JsValue> {
    install_panic_hook();
    let value = catch_unwind(AssertUnwindSafe(f))
        .map_err(|p| js_error(format!("internal error: {}", panic_text(p.as_ref()))))?
        .map_err(js_error)?;
    let json = serde_json::to_string(&value).map_err(js_error)?;
    js_sys::JSON::parse(&json)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

#[cfg(target_arch = "wasm32")]
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            wasm_bindgen::throw_str(&format!("internal error: {info}"));
        }))
    });
}

#[cfg(not(target_arch = "wasm32"))]
fn install_panic_hook() {}

/// The config: a config file's text, or an object with its fields.
fn config_of(config: &JsValue) -> Result<Config, vaultwire::Error> {
    let text = match config.as_string() {
        Some(text) => text,
        None if config.is_undefined() || config.is_null() => String::new(),
        None => js_sys::JSON::stringify(config)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| vaultwire::Error::config("config: not a string or a plain object"))?,
    };
    Config::from_yaml(&text)
}

/// Wires `stream` as the CLI would with the same config: `{ stream, report, changes }`.
/// `changes` holds, per changed document, a line diff of its normalized YAML before and after
/// (Secret values shown as `(redacted)`), for the page to render; `report` is the `--report`
/// JSON.
#[wasm_bindgen]
pub fn transform(stream: &str, config: JsValue) -> Result<JsValue, JsValue> {
    let config = config_of(&config).map_err(js_error)?;
    call(|| transform_with(stream, &config))
}

/// [`transform`] without JS types.
pub fn transform_with(input: &str, config: &Config) -> Result<Transformed, vaultwire::Error> {
    let mut output = vaultwire::run(input, config)?;
    let changes = std::mem::take(&mut output.report.documents)
        .iter()
        .filter_map(Change::of)
        .collect();
    Ok(Transformed {
        stream: output.stream,
        report: output.report,
        changes,
    })
}

/// A diff on screen shows which Secret keys went away, never their values: the page may be
/// shared as a screenshot.
fn redact_secret_data(doc: &mut Value) {
    for obj in workload::objects_mut(doc) {
        if workload::kind_of(obj) != "Secret" {
            continue;
        }
        for field in ["data", "stringData"] {
            if let Some(Value::Object(map)) = obj.get_mut(field) {
                for v in map.values_mut() {
                    if !v.is_null() {
                        *v = Value::String("(redacted)".to_string());
                    }
                }
            }
        }
    }
}

#[derive(Serialize)]
pub struct Transformed {
    pub stream: String,
    pub report: vaultwire::Report,
    pub changes: Vec<Change>,
}

/// One changed document: where it is, how many lines its diff adds and removes, and the diff.
#[derive(Serialize)]
pub struct Change {
    #[serde(flatten)]
    pub at: Place,
    pub added: usize,
    pub removed: usize,
    pub lines: Vec<Line>,
}

/// Unchanged lines shown around each change.
pub const CONTEXT: usize = 3;

/// A line of a diff, as the page shows it: `{ tag: "ctx" | "add" | "del", text }`, or
/// `{ tag: "gap", skipped }` for unchanged lines left out.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "tag", rename_all = "lowercase")]
pub enum Line {
    Ctx { text: String },
    Add { text: String },
    Del { text: String },
    Gap { skipped: usize },
}

impl Change {
    /// `None` only if the library's own text of the document does not parse again.
    fn of(doc: &ChangedDocument) -> Option<Change> {
        let (mut before, mut after) = (doc.before().ok()?, doc.after().ok()?);
        redact_secret_data(&mut before);
        redact_secret_data(&mut after);
        let lines = line_diff(&yaml::to_string(&before), &yaml::to_string(&after), CONTEXT);
        let count = |f: fn(&Line) -> bool| lines.iter().filter(|l| f(l)).count();
        Some(Change {
            at: doc.at.clone(),
            added: count(|l| matches!(l, Line::Add { .. })),
            removed: count(|l| matches!(l, Line::Del { .. })),
            lines,
        })
    }
}

/// The changed lines of `after` against `before` with `context` unchanged lines around each
/// change; the unchanged lines between are one [`Line::Gap`].
pub fn line_diff(before: &str, after: &str, context: usize) -> Vec<Line> {
    let diff = TextDiff::from_lines(before, after);
    let mut lines = Vec::new();
    let mut shown = 0; // lines of `before` shown or skipped so far
    for group in diff.grouped_ops(context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        if first.old_range().start > shown {
            lines.push(Line::Gap {
                skipped: first.old_range().start - shown,
            });
        }
        for change in group.iter().flat_map(|op| diff.iter_changes(op)) {
            let text = change.value();
            let text = text.strip_suffix('\n').unwrap_or(text).to_string();
            lines.push(match change.tag() {
                ChangeTag::Equal => Line::Ctx { text },
                ChangeTag::Insert => Line::Add { text },
                ChangeTag::Delete => Line::Del { text },
            });
        }
        shown = last.old_range().end;
    }
    let total = diff.old_slices().len();
    if total > shown {
        lines.push(Line::Gap {
            skipped: total - shown,
        });
    }
    lines
}

/// The keys a person may want to move to Vault: `{ keys, workloads }`, where `keys` is every
/// env name and every Secret/ConfigMap key an env entry reads, in stream order without
/// repeats, and `workloads` says which workload has which.
#[wasm_bindgen]
pub fn candidates(stream: &str) -> Result<JsValue, JsValue> {
    call(|| candidates_of(stream))
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Candidates {
    pub keys: Vec<String>,
    pub workloads: Vec<Workload>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    #[serde(flatten)]
    pub at: Place,
    pub containers: Vec<String>,
    /// Names of the env entries, in container order, without repeats.
    pub env_names: Vec<String>,
    /// Keys read through `secretKeyRef` / `configMapKeyRef`.
    pub key_refs: Vec<KeyRef>,
    /// Whole Secrets/ConfigMaps read through `envFrom` (their keys cannot be listed per entry).
    pub env_from: Vec<ObjectName>,
}

#[derive(Serialize, PartialEq)]
pub struct KeyRef {
    pub kind: &'static str,
    pub name: String,
    pub key: String,
}

#[derive(Serialize, PartialEq)]
pub struct ObjectName {
    pub kind: &'static str,
    pub name: String,
}

/// [`candidates`] without JS types.
pub fn candidates_of(input: &str) -> Result<Candidates, vaultwire::Error> {
    let docs = Document::read_all(stream::split(input).chunks)?;
    let mut out = Candidates::default();
    let mut seen = BTreeSet::new();
    for doc in &docs {
        let Some(value) = &doc.value else { continue };
        let place = doc.place();
        for obj in workload::objects(value) {
            let Some(pod) = workload::pod_template(obj) else {
                continue;
            };
            let mut w = Workload {
                at: vaultwire::document::object_place(&place, obj).object(),
                containers: Vec::new(),
                env_names: Vec::new(),
                key_refs: Vec::new(),
                env_from: Vec::new(),
            };
            for list in CONTAINER_LISTS {
                for c in workload::items(pod, &format!("/spec/{list}")) {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                    w.containers.push(name.to_string());
                    for entry in workload::items(c, "/env") {
                        add_entry(&mut w, entry);
                    }
                    for from in workload::items(c, "/envFrom") {
                        if let Some(r) = ObjectRef::of_env_from(from) {
                            let n = ObjectName {
                                kind: r.kind,
                                name: r.name,
                            };
                            if !w.env_from.contains(&n) {
                                w.env_from.push(n);
                            }
                        }
                    }
                }
            }
            let keys = w.env_names.iter().chain(w.key_refs.iter().map(|r| &r.key));
            for k in keys {
                if seen.insert(k.clone()) {
                    out.keys.push(k.clone());
                }
            }
            out.workloads.push(w);
        }
    }
    Ok(out)
}

fn add_entry(w: &mut Workload, entry: &Value) {
    if let Some(name) = entry.get("name").and_then(Value::as_str) {
        if !name.is_empty() && !w.env_names.iter().any(|n| n == name) {
            w.env_names.push(name.to_string());
        }
    }
    if let Some((obj, key)) = EnvSource::of(entry).object_key() {
        let r = KeyRef {
            kind: obj.kind,
            name: obj.name.clone(),
            key: key.to_string(),
        };
        if !key.is_empty() && !w.key_refs.contains(&r) {
            w.key_refs.push(r);
        }
    }
}

/// `vaultwire lint`: the findings for `stream`, or for what vaultwire would emit when the config
/// names a mode.
#[wasm_bindgen]
pub fn lint(stream: &str, config: JsValue) -> Result<JsValue, JsValue> {
    let config = config_of(&config).map_err(js_error)?;
    call(|| vaultwire::lint::lint(stream, &config))
}

/// The vaultwire version this build carries.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../examples/portkey-mini.helm4-stdin.yaml");

    #[test]
    fn candidates_list_env_names_and_referenced_keys() {
        let c = candidates_of(EXAMPLE).expect("example reads");
        assert!(!c.workloads.is_empty());
        assert!(c.keys.iter().any(|k| k == "PORTKEY_CLIENT_AUTH"));
        let mut unique = c.keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), c.keys.len(), "keys repeat: {:?}", c.keys);
    }

    /// The text a diff turns `before` into, with every context and removed line checked
    /// against `before`.
    fn apply(before: &str, diff: &[Line]) -> String {
        let old: Vec<&str> = before.lines().collect();
        let mut at = 0;
        let mut out = String::new();
        for line in diff {
            match line {
                Line::Ctx { text } | Line::Del { text } => {
                    assert_eq!(old.get(at), Some(&text.as_str()), "line {}", at + 1);
                    at += 1;
                    if matches!(line, Line::Ctx { .. }) {
                        out += text;
                        out.push('\n');
                    }
                }
                Line::Add { text } => {
                    out += text;
                    out.push('\n');
                }
                Line::Gap { skipped } => {
                    for l in &old[at..at + skipped] {
                        out += l;
                        out.push('\n');
                    }
                    at += skipped;
                }
            }
        }
        assert_eq!(at, old.len(), "the diff covers all of before");
        out
    }

    /// A document of a stream as the page's diff shows it: normalized YAML, Secret data redacted.
    fn shown(chunk: &stream::Chunk<'_>) -> String {
        let mut value = yaml::parse(chunk.body).expect("yaml");
        redact_secret_data(&mut value);
        yaml::to_string(&value)
    }

    #[test]
    fn diffs_turn_each_input_document_into_the_output_one() {
        let config = Config::from_yaml(
            "mode: mount\nkeys: [PORTKEY_CLIENT_AUTH]\nvault: {secretPath: kv/data/p/c, role: r}\nkeepPlaintext: true\n",
        )
        .expect("config");
        let t = transform_with(EXAMPLE, &config).expect("wires");
        // Read from the two streams, not from the report: with plaintext kept, mount mode
        // neither drops nor adds a document, so the n-th input document is the n-th output one.
        let input = stream::split(EXAMPLE).chunks;
        let output = stream::split(&t.stream).chunks;
        assert_eq!(input.len(), output.len());
        let changed: Vec<usize> = input
            .iter()
            .zip(&output)
            .enumerate()
            .filter(|(_, (a, b))| {
                !a.is_blank() && yaml::parse(a.body).ok() != yaml::parse(b.body).ok()
            })
            .map(|(i, _)| i + 1)
            .collect();
        assert!(!changed.is_empty());
        assert_eq!(
            t.changes.iter().map(|c| c.at.document).collect::<Vec<_>>(),
            changed
        );
        for c in &t.changes {
            let i = c.at.document - 1;
            assert_eq!(apply(&shown(&input[i]), &c.lines), shown(&output[i]));
            let count = |f: fn(&Line) -> bool| c.lines.iter().filter(|l| f(l)).count();
            assert_eq!(c.added, count(|l| matches!(l, Line::Add { .. })));
            assert_eq!(c.removed, count(|l| matches!(l, Line::Del { .. })));
            assert!(c.added + c.removed > 0);
        }
        assert!(t.changes.iter().any(|c| c.lines.iter().any(
            |l| matches!(l, Line::Add { text } if text.contains("agent-inject-file-portkey_client_auth"))
        )));
    }

    #[test]
    fn diffs_keep_three_lines_of_context() {
        let before: String = (1..=20).map(|i| format!("k{i}: {i}\n")).collect();
        let after = before.replace("k10: 10\n", "k10: ten\n");
        let diff = line_diff(&before, &after, CONTEXT);
        let ctx = |i: usize| Line::Ctx {
            text: format!("k{i}: {i}"),
        };
        let mut want = vec![Line::Gap { skipped: 6 }, ctx(7), ctx(8), ctx(9)];
        want.push(Line::Del {
            text: "k10: 10".into(),
        });
        want.push(Line::Add {
            text: "k10: ten".into(),
        });
        want.extend([ctx(11), ctx(12), ctx(13), Line::Gap { skipped: 7 }]);
        assert_eq!(diff, want);
        // two changes 6 unchanged lines apart share one hunk, 7 apart do not
        let two = |gap: usize| {
            let after = before
                .replace("k3: 3\n", "k3: three\n")
                .replace(&format!("k{0}: {0}\n", 4 + gap), "changed: yes\n");
            line_diff(&before, &after, CONTEXT)
                .iter()
                .filter(|l| matches!(l, Line::Gap { .. }))
                .count()
        };
        assert_eq!((two(6), two(7)), (1, 2));
        assert_eq!(
            line_diff(&before, &before, CONTEXT),
            [Line::Gap { skipped: 20 }]
        );
    }

    #[test]
    fn diffs_serialize_as_the_page_reads_them() {
        let json = serde_json::to_value(line_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", 0)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"tag": "gap", "skipped": 1},
                {"tag": "del", "text": "b: 2"},
                {"tag": "add", "text": "b: 3"},
            ])
        );
    }

    #[test]
    fn diffs_never_show_secret_values() {
        let config =
            Config::from_yaml("mode: partial\nkeys: [PORTKEY_CLIENT_AUTH]\nexistingSecret: s\n")
                .expect("config");
        let t = transform_with(EXAMPLE, &config).expect("wires");
        let secrets: Vec<&Change> = t.changes.iter().filter(|c| c.at.kind == "Secret").collect();
        assert!(!secrets.is_empty(), "the example's Secret loses a key");
        let values: Vec<String> = stream::split(EXAMPLE)
            .chunks
            .iter()
            .filter_map(|c| yaml::parse(c.body).ok())
            .filter(|d| d["kind"] == "Secret")
            .flat_map(|d| {
                d["data"]
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.values().filter_map(Value::as_str).map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(!values.is_empty());
        for c in secrets {
            for l in &c.lines {
                if let Line::Ctx { text } | Line::Add { text } | Line::Del { text } = l {
                    assert!(!values.iter().any(|v| text.contains(v.as_str())), "{text}");
                }
            }
            assert!(c
                .lines
                .iter()
                .any(|l| matches!(l, Line::Del { text } if text.ends_with(": (redacted)"))));
        }
    }

    #[test]
    fn errors_keep_the_library_text() {
        let err = transform_with(EXAMPLE, &Config::default())
            .err()
            .expect("no mode is an error");
        assert!(err.to_string().starts_with("no mode"), "{err}");
    }
}
