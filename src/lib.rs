//! vaultwire wires HashiCorp Vault into any rendered Helm chart, as a Helm post-renderer.
//!
//! The data path, one module each:
//! [`stream`] (split and join, untouched bytes kept) → [`document`] (parse what must be read) →
//! [`scan`] (one pass: the chart [`objects`] and their plaintext, the [`references`] index) →
//! [`selection`] (which `(object, key)` moves, under which field) → [`modes`] (the rewrite:
//! `partial`, `mount`, `full`; [`vault`] for injector annotations) → [`prune`] (only what no
//! reference reads) → [`copies`] (plaintext left elsewhere) → [`operators`] → assemble, with
//! [`report`] (change set, JSON Patch, `--explain`). `docs/references.md` tells the model.
//!
//! The library does no I/O: [`run`] takes the stream and a [`Config`] and returns the new
//! stream and a [`Report`]. The CLI, the WASM build and the Helm plugins are shells over it.
//!
//! Dependencies: `serde-saphyr` reads and writes YAML (maintained, pure Rust, quotes YAML 1.1
//! look-alikes such as `"on"`); `serde_json` with `preserve_order` is the document model (keys
//! keep their order); `json-patch` turns a changed document into RFC 6902 operations;
//! `lz4_flex` holds rewritten documents compressed until the stream is written; `serde`
//! derives the config and report; `clap` parses the CLI's flags.
#![forbid(unsafe_code)]

pub mod config;
pub mod copies;
pub mod document;
pub mod error;
pub mod expansion;
pub mod limits;
pub mod lint;
pub mod modes;
pub mod objects;
pub mod operators;
pub mod prune;
pub mod reads;
pub mod references;
pub mod report;
pub mod scan;
pub mod selection;
pub mod stream;
pub mod vault;
pub mod workload;
pub mod yaml;

pub use config::{Config, Mode};
pub use error::{Error, ErrorKind, Result};
pub use report::Report;

use std::collections::{BTreeMap, HashSet};

use document::Document;
use modes::{mount::InjectorFiles, partial::SyncedSecret, Rewrite, Rewritten, Wiring};
use objects::ObjectRef;
use references::References;
use selection::{Facts, Selection};
use stream::Emit;
use vault::VaultPath;

/// The result of a run: the output stream and what was done.
#[derive(Debug, Clone)]
pub struct Output {
    pub stream: String,
    pub report: Report,
}

/// How much a run reports.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Every env and annotation change and a JSON Patch per changed document (`--explain`,
    /// `--report`, the preview page). Off, a big stream costs less time and memory.
    pub detail: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { detail: true }
    }
}

/// The wired stream as the pieces it is written from, and the report.
pub struct Wired<'a> {
    bom: &'a str,
    parts: Vec<Emit<'a>>,
    pub report: Report,
}

impl Wired<'_> {
    /// Writes the stream to `out` piece by piece.
    pub fn write_to(&self, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
        stream::write(self.bom, &self.parts, out)
    }

    pub fn into_output(self) -> Output {
        Output {
            stream: stream::join(self.bom, &self.parts),
            report: self.report,
        }
    }
}

/// Applies the configured mode to a rendered stream.
pub fn run(input: &str, config: &Config) -> Result<Output> {
    wire(input, config, Options::default()).map(Wired::into_output)
}

/// [`run`], with the output left in pieces and the detail chosen: what the CLI uses.
///
/// Facts first, then transforms: one scan builds the reference index and the chart objects;
/// the selection resolves the configured keys against it; then rewrite, prune, copies,
/// operators, assemble.
pub fn wire<'a>(input: &'a str, config: &Config, options: Options) -> Result<Wired<'a>> {
    let mode = config.validate()?;
    let stream = stream::split(input);
    let mut docs = Document::read_all(stream.chunks)?;
    let mut report = Report {
        mode: mode.to_string(),
        option: mode.option_letter().to_string(),
        brief: !options.detail,
        ..Report::default()
    };
    // A chart that renders nothing reaches a post-renderer as an empty stream (Helm 3 runs it
    // anyway). There is nothing to wire and nothing to refuse: the stream goes out as it came.
    if docs.iter().all(|d| d.chunk.is_blank()) {
        report
            .notes
            .push("the stream has no documents: nothing to wire".to_string());
        let parts = docs.iter().map(|d| Emit::Original(d.chunk)).collect();
        return Ok(Wired {
            bom: stream.bom,
            parts,
            report,
        });
    }
    let targets = &config.targets;
    let synced = match mode {
        Mode::Partial | Mode::Full => Some(ObjectRef::secret(
            config.existing_secret.as_deref().unwrap_or_default(),
        )),
        Mode::Mount => None,
    };

    // scan
    let scan::Facts { objects, mut refs } = scan::scan(&docs, targets);

    // select
    let mut selection = {
        let facts = Facts {
            objects: &objects,
            refs: &refs,
            synced: synced.as_ref(),
        };
        if mode == Mode::Full && config.keys.is_empty() {
            let literals = if config.keys_from_literals {
                scan::literal_secrets(&docs, targets)
            } else {
                Vec::new()
            };
            Selection::inferred(&facts, &literals)?
        } else {
            Selection::configured(&config.key_specs()?, &config.aliases, &facts)?
        }
    };
    report.notes.extend(selection.notes.iter().cloned());
    report.warnings.extend(selection.warnings.iter().cloned());
    report.keys = selection.fields();
    for s in &selection.selected {
        for o in &s.sources {
            report.sources.push(report::SourceField {
                object: o.to_string(),
                key: s.key.clone(),
                field: s.field.clone(),
            });
        }
    }

    // rewrite
    let synced_secret;
    let injector;
    let wiring: &dyn Wiring = match mode {
        Mode::Partial | Mode::Full => {
            synced_secret = SyncedSecret {
                secret: config.existing_secret.clone().unwrap_or_default(),
            };
            synced_secret.check_not_rendered(&docs)?;
            &synced_secret
        }
        Mode::Mount => {
            injector = injector_files(config, &selection, &mut report)?;
            &injector
        }
    };
    if selection.selected.iter().any(|s| s.by_name) {
        selection.already_wired(&modes::wired_fields(&docs, targets, wiring));
    }
    let mut rewrite = Rewrite::new(&selection, &objects, targets, wiring);
    for doc in docs.iter_mut().filter(|d| d.value.is_some()) {
        rewrite.document(doc, &mut report)?;
        doc.touched |= rewrite.take_changed();
    }
    let rewritten = rewrite.found;
    rewritten.check_by_name()?;
    if config.operators.reloader {
        let secret = config.existing_secret.as_deref().unwrap_or_default();
        for doc in docs.iter_mut() {
            doc.touched |= operators::reloader(doc, &rewritten.wired, secret);
        }
    }

    // prune
    refs.only(
        objects
            .refs()
            .cloned()
            .chain(synced.iter().cloned())
            .collect(),
    );
    scan::pod_references(&docs, targets, &mut refs);
    let keep_plaintext =
        config.keep_plaintext || hooks_unseen(&docs, config, &rewritten.moved, &mut report);
    if !keep_plaintext {
        let before = report.removed_keys.len();
        prune::plaintext(&mut docs, &rewritten.moved, &refs, &mut report);
        let touched: HashSet<usize> = report.removed_keys[before..]
            .iter()
            .map(|r| r.at.document)
            .collect();
        for doc in docs.iter_mut().filter(|d| touched.contains(&d.index)) {
            doc.touched = true;
        }
    }
    report.notes.extend(
        report
            .kept
            .iter()
            .map(report::Kept::message)
            .collect::<Vec<_>>(),
    );

    // copies of moved values, and literal secrets left in plain text
    let mut own: HashSet<(ObjectRef, String)> = report
        .kept
        .iter()
        .map(|k| {
            let kind = if k.at.kind == "ConfigMap" {
                "ConfigMap"
            } else {
                "Secret"
            };
            (
                ObjectRef {
                    kind,
                    name: k.at.name.clone(),
                },
                k.key.clone(),
            )
        })
        .collect();
    if keep_plaintext {
        own.extend(rewritten.moved.iter().cloned());
    }
    // Inferred keys are every configuration value: only those named like secrets are
    // searched for (a database name in a label is no leak).
    let inferred = mode == Mode::Full && config.keys.is_empty();
    let values = selection
        .selected
        .iter()
        .filter(|s| rewritten.carried.contains(&s.field))
        .filter(|s| !inferred || selection::looks_secret(&s.key))
        .filter_map(|s| {
            let plain = s.plain.as_deref()?;
            let of = match s.sources.first() {
                Some(o) => format!("{o}/{}", s.key),
                None => format!("key {}", s.key),
            };
            Some((plain, of))
        });
    report.copies = copies::Moved::new(values, own).find(&docs);
    let copy_warnings: Vec<String> = report.copies.iter().map(|c| c.message()).collect();
    report.warnings.extend(copy_warnings);
    if mode == Mode::Full {
        for l in scan::literal_secrets(&docs, targets) {
            report.warnings.push(format!(
                "literal-secret: {}: a literal that looks like a secret stays in plain text; pass --keys-from-literals (full mode) or -k {} to move it",
                l.at, l.name
            ));
        }
    }

    // operators
    let added = emit_for_operators(
        config,
        &mut docs,
        &selection,
        &rewritten,
        &refs,
        &mut report,
    )?;
    modes::uncarried_warnings(&selection, &rewritten.carried, &mut report);
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

    // assemble
    let mut parts = Vec::with_capacity(docs.len() + added.len());
    for doc in &mut docs {
        if doc.dropped {
            parts.push(Emit::Dropped);
            continue;
        }
        doc.settle(options.detail);
        report.patches.extend(doc.patch.take());
        report.documents.extend(doc.change.take());
        match doc.emitted.take() {
            Some(text) => parts.push(Emit::Rewritten(doc.chunk, text)),
            None => parts.push(Emit::Original(doc.chunk)),
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
    Ok(Wired {
        bom: stream.bom,
        parts,
        report,
    })
}

/// Mount mode's wiring: the Vault path of each field and the injector names.
fn injector_files(
    config: &Config,
    selection: &Selection,
    report: &mut Report,
) -> Result<InjectorFiles> {
    let given = config.vault.secret_path.as_deref().unwrap_or_default();
    let default = VaultPath::parse(given, config.kv_version())?;
    report.vault_path = Some(default.describe());
    if given.trim_matches('/') != default.api_path {
        report.notes.push(format!(
            "KV v2 path '{given}' read as '{}'",
            default.api_path
        ));
    }
    let mut paths = BTreeMap::new();
    for s in &selection.selected {
        let path = match &s.vault_path {
            Some(p) => VaultPath::parse(p, config.kv_version())?,
            None => default.clone(),
        };
        paths.insert(s.field.clone(), path);
    }
    InjectorFiles::new(
        paths,
        config.vault.role.clone(),
        config.vault.secret_volume_path.clone(),
        &selection.fields(),
        &config.vault.annotations,
        config.delivery.clone(),
        config.force,
    )
}

/// Operator resources (partial and full modes); returns the documents to append. `refs`: what
/// the pods read once rewritten.
fn emit_for_operators(
    config: &Config,
    docs: &mut [Document<'_>],
    selection: &Selection,
    rewritten: &Rewritten,
    refs: &References,
    report: &mut Report,
) -> Result<Vec<operators::Resource>> {
    let secret = config.existing_secret.as_deref().unwrap_or_default();
    let Some(path) = config.vault.secret_path.as_deref() else {
        return Ok(Vec::new());
    };
    let default = VaultPath::parse(path, config.kv_version())?;
    // The Secret the operator creates must hold every key a pod reads from it, not only the
    // configured ones: a missing key stops the container (CreateContainerConfigError). The
    // configured fields come first, in configuration order, then the others in stream order.
    let mut synced: Vec<(String, VaultPath)> = Vec::new();
    for s in selection
        .selected
        .iter()
        .filter(|s| rewritten.carried.contains(&s.field))
    {
        let path = match &s.vault_path {
            Some(p) => VaultPath::parse(p, config.kv_version())?,
            None => default.clone(),
        };
        synced.push((s.field.clone(), path));
    }
    let configured: HashSet<&str> = synced.iter().map(|(f, _)| f.as_str()).collect();
    let already: Vec<String> = refs
        .required_keys_of(&ObjectRef::secret(secret))
        .into_iter()
        .filter(|k| !configured.contains(k.as_str()))
        .collect();
    if !already.is_empty() {
        report.notes.push(format!(
            "the operator resources also sync {} key(s) the pods already read from Secret {secret}: {}",
            already.len(),
            already.join(", ")
        ));
        synced.extend(already.into_iter().map(|k| (k, default.clone())));
    }
    let resources = operators::resources(config, &synced, &rewritten.wired)?;
    let flavor = operators::flavor(docs);
    operators::place(docs, resources, flavor, config.force, report)
}

/// Helm 3 pipes only the non-hook manifests to a post-renderer, so a hook may still read a key
/// vaultwire moved: removing it would fail the hook at install. A Helm 3 stream (`# Source:`
/// comments) with no hook in it may be such a stream; its plaintext stays, and the note says so.
fn hooks_unseen(
    docs: &[Document<'_>],
    config: &Config,
    moved: &std::collections::BTreeSet<modes::Moved>,
    report: &mut Report,
) -> bool {
    let unseen = !config.prune_without_hooks
        && !moved.is_empty()
        && operators::flavor(docs) == operators::Flavor::Helm3
        && !docs.iter().any(Document::is_helm_hook);
    if unseen {
        let mut objects: Vec<String> = moved.iter().map(|(o, _)| o.to_string()).collect();
        objects.dedup();
        report.notes.push(format!(
            "kept the plaintext of {} moved key(s) in {}: this Helm 3 stream holds no hook, and Helm 3 gives a post-renderer none, so a hook may still read them; pass --prune-without-hooks when none does",
            moved.len(),
            objects.join(", ")
        ));
    }
    unseen
}
