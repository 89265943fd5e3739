//! vaultwire wires HashiCorp Vault into any rendered Helm chart, as a Helm post-renderer.
//!
//! The data path, one module each:
//! [`stream`] (split and join, untouched bytes kept) → [`document`] (parse what must be read) →
//! [`workload`] (pod templates in every kind, env entries, which key an entry carries) →
//! [`modes`] (`partial`, `mount`, `full`) → [`vault`] (injector annotations and templates) →
//! [`prune`] (plaintext no longer needed) → [`report`] (change set, JSON Patch, `--explain`).
//!
//! The library does no I/O: [`run`] takes the stream and a [`Config`] and returns the new
//! stream and a [`Report`]. The CLI, the WASM build and the Helm plugins are shells over it.
//!
//! Dependencies: `serde-saphyr` reads and writes YAML (maintained, pure Rust, quotes YAML 1.1
//! look-alikes such as `"on"`); `serde_json` with `preserve_order` is the document model (keys
//! keep their order); `json-patch` turns a changed document into RFC 6902 operations; `serde`
//! derives the config and report; `clap` parses the CLI's flags.
#![forbid(unsafe_code)]

pub mod config;
pub mod document;
pub mod error;
pub mod limits;
pub mod lint;
pub mod modes;
pub mod operators;
pub mod prune;
pub mod reads;
pub mod report;
pub mod stream;
pub mod vault;
pub mod workload;
pub mod yaml;

pub use config::{Config, Mode};
pub use error::{Error, ErrorKind, Result};
pub use report::Report;

use document::Document;
use modes::{full, mount::InjectorFiles, partial::SyncedSecret, Wiring};
use report::{DocumentPatch, Located};
use stream::Emit;
use vault::VaultPath;
use workload::KeySet;

/// The result of a run: the output stream and what was done.
#[derive(Debug, Clone)]
pub struct Output {
    pub stream: String,
    pub report: Report,
}

/// Applies the configured mode to a rendered stream.
pub fn run(input: &str, config: &Config) -> Result<Output> {
    let mode = config.validate()?;
    let stream = stream::split(input);
    let mut docs = Document::read_all(stream.chunks)?;
    let mut report = Report {
        mode: mode.to_string(),
        option: mode.option_letter().to_string(),
        ..Report::default()
    };

    let keys = match mode {
        Mode::Full if config.keys.is_empty() => {
            let secret = config.existing_secret.as_deref().unwrap_or_default();
            let (keys, note) = full::infer_keys(&docs, &config.targets, secret)?;
            report.notes.extend(note);
            keys
        }
        _ => config.keys.clone(),
    };
    let keys = KeySet::new(keys, config.aliases.clone());
    report.keys = keys.keys.clone();

    let synced;
    let injector;
    let wiring: &dyn Wiring = match mode {
        Mode::Partial | Mode::Full => {
            synced = SyncedSecret {
                secret: config.existing_secret.clone().unwrap_or_default(),
            };
            synced.check_not_rendered(&docs)?;
            &synced
        }
        Mode::Mount => {
            let path = VaultPath::parse(
                config.vault.secret_path.as_deref().unwrap_or_default(),
                config.kv_version(),
            )?;
            report.vault_path = Some(path.describe());
            let given = config.vault.secret_path.as_deref().unwrap_or_default();
            if given.trim_matches('/') != path.api_path {
                report
                    .notes
                    .push(format!("KV v2 path '{given}' read as '{}'", path.api_path));
            }
            injector = InjectorFiles::new(
                path,
                config.vault.role.clone(),
                config.vault.secret_volume_path.clone(),
                &keys.keys,
                &config.vault.annotations,
                config.force,
            )?;
            &injector
        }
    };

    let rewritten = modes::rewrite(&mut docs, &keys, &config.targets, wiring, &mut report)?;
    if !config.keep_plaintext {
        prune::plaintext(&mut docs, &rewritten.moved, &mut report);
    }
    let added = emit_for_operators(config, &mut docs, &keys, &rewritten, &mut report)?;
    modes::warnings(
        &docs,
        &keys,
        &config.targets,
        &rewritten.carried,
        &mut report,
    );
    if config.strict && !report.warnings.is_empty() {
        return Err(Error::new(
            ErrorKind::Strict,
            format!(
                "--strict: {} warning(s): {}",
                report.warnings.len(),
                report.warnings.join("; ")
            ),
        ));
    }

    let mut parts = Vec::with_capacity(docs.len());
    for doc in &docs {
        if doc.dropped {
            parts.push(Emit::Dropped);
            continue;
        }
        // Parsed again here, one document at a time, rather than cloned when read.
        let original = doc.value.as_ref().and_then(|_| doc.original_value());
        match (&doc.value, original) {
            (Some(value), Some(original)) if *value != *original => {
                report.patches.push(DocumentPatch {
                    at: Located::from(&doc.place()),
                    patch: json_patch::diff(&original, value),
                });
                parts.push(Emit::Rewritten(&doc.chunk, yaml::to_string(value)));
            }
            _ => parts.push(Emit::Original(&doc.chunk)),
        }
    }
    let flavor = operators::flavor(&docs);
    for r in &added {
        let source = (flavor == operators::Flavor::Helm3).then(|| r.source.clone());
        parts.push(Emit::Added {
            source,
            yaml: yaml::to_string(&r.value),
        });
    }
    Ok(Output {
        stream: stream::join(stream.bom, &parts),
        report,
    })
}

/// Operator resources and Reloader annotations (partial and full modes); returns the documents
/// to append.
fn emit_for_operators(
    config: &Config,
    docs: &mut [Document<'_>],
    keys: &KeySet,
    rewritten: &modes::Rewritten,
    report: &mut Report,
) -> Result<Vec<operators::Resource>> {
    let secret = config.existing_secret.as_deref().unwrap_or_default();
    if config.operators.reloader {
        operators::reloader(docs, &rewritten.wired, secret);
    }
    let Some(path) = config.vault.secret_path.as_deref() else {
        return Ok(Vec::new());
    };
    let path = VaultPath::parse(path, config.kv_version())?;
    // The Secret the operator creates must hold every key a pod reads from it, not only the
    // configured ones: a missing key stops the container (CreateContainerConfigError). The
    // configured keys come first, in configuration order, then the others in stream order.
    let mut synced: Vec<String> = keys
        .keys
        .iter()
        .filter(|k| rewritten.carried.contains(*k))
        .cloned()
        .collect();
    let already = operators::keys_read_from(docs, secret)
        .into_iter()
        .filter(|k| !synced.contains(k))
        .collect::<Vec<_>>();
    if !already.is_empty() {
        report.notes.push(format!(
            "the operator resources also sync {} key(s) the pods already read from Secret {secret}: {}",
            already.len(),
            already.join(", ")
        ));
        synced.extend(already);
    }
    let resources = operators::resources(config, &path, &synced, &rewritten.wired);
    let flavor = operators::flavor(docs);
    operators::place(docs, resources, flavor, config.force, report)
}
