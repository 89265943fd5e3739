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
use vaultwire::document::Document;
use vaultwire::report::Located;
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
/// `changes` holds, per changed document, its value before and after as normalized YAML (for a
/// readable diff; Secret values shown as `(redacted)`); `report` is the `--report` JSON.
#[wasm_bindgen]
pub fn transform(stream: &str, config: JsValue) -> Result<JsValue, JsValue> {
    let config = config_of(&config).map_err(js_error)?;
    call(|| transform_with(stream, &config))
}

/// [`transform`] without JS types.
pub fn transform_with(input: &str, config: &Config) -> Result<Transformed, vaultwire::Error> {
    let output = vaultwire::run(input, config)?;
    let chunks = stream::split(input).chunks;
    let changes = output
        .report
        .patches
        .iter()
        .filter_map(|p| {
            let chunk = chunks.get(p.at.document.checked_sub(1)?)?;
            let mut before = yaml::parse(chunk.body).ok()?;
            let mut after = before.clone();
            json_patch::patch(&mut after, &p.patch).ok()?;
            keep_order(&mut after, &before);
            redact_secret_data(&mut before);
            redact_secret_data(&mut after);
            Some(Change {
                at: p.at.clone(),
                before: yaml::to_string(&before),
                after: yaml::to_string(&after),
            })
        })
        .collect();
    Ok(Transformed {
        stream: output.stream,
        report: output.report,
        changes,
    })
}

/// Applying a patch's `remove` reorders a map (serde_json swaps the last key in); put the keys
/// back in the input's order, new keys after them, as vaultwire writes them.
fn keep_order(after: &mut Value, before: &Value) {
    match (after, before) {
        (Value::Object(a), Value::Object(b)) => {
            let rank = |k: &String| b.keys().position(|x| x == k).unwrap_or(usize::MAX);
            let mut entries: Vec<(String, Value)> = std::mem::take(a).into_iter().collect();
            entries.sort_by_key(|(k, _)| rank(k));
            for (k, mut v) in entries {
                if let Some(old) = b.get(&k) {
                    keep_order(&mut v, old);
                }
                a.insert(k, v);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (x, y) in a.iter_mut().zip(b) {
                keep_order(x, y);
            }
        }
        _ => {}
    }
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

#[derive(Serialize)]
pub struct Change {
    #[serde(flatten)]
    pub at: Located,
    pub before: String,
    pub after: String,
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
    pub at: Located,
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
    let docs = Document::read_all(stream::split(input).chunks, false)?;
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
                at: Located::from(&vaultwire::document::object_place(&place, obj)),
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

    #[test]
    fn transform_matches_the_library_and_diffs_changed_documents() {
        let config = Config::from_yaml(
            "mode: mount\nkeys: [PORTKEY_CLIENT_AUTH]\nvault: {secretPath: kv/data/p/c, role: r}\n",
        )
        .expect("config");
        let t = transform_with(EXAMPLE, &config).expect("wires");
        let lib = vaultwire::run(EXAMPLE, &config).expect("wires");
        assert_eq!(t.stream, lib.stream);
        assert_eq!(t.changes.len(), lib.report.patches.len());
        assert!(t.changes.iter().all(|c| c.before != c.after));
        assert!(t.changes.iter().any(|c| c.after.contains("agent-inject")));
    }

    #[test]
    fn diffs_never_show_secret_values() {
        let config =
            Config::from_yaml("mode: partial\nkeys: [PORTKEY_CLIENT_AUTH]\nexistingSecret: s\n")
                .expect("config");
        let t = transform_with(EXAMPLE, &config).expect("wires");
        let secrets: Vec<&Change> = t.changes.iter().filter(|c| c.at.kind == "Secret").collect();
        assert!(!secrets.is_empty(), "the example's Secret loses a key");
        for c in secrets {
            let doc = vaultwire::yaml::parse(&c.before).expect("yaml");
            for v in doc["data"].as_object().into_iter().flat_map(|m| m.values()) {
                assert!(v.is_null() || v == "(redacted)", "{v}");
            }
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
