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
//! keep their order); `json-patch` turns a changed document into RFC 6902 operations;
//! `lz4_flex` holds rewritten documents compressed until the stream is written; `serde`
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

use std::collections::BTreeSet;

use document::Document;
use modes::{full, mount::InjectorFiles, partial::SyncedSecret, Rewritten, Wiring};
use stream::Emit;
use vault::VaultPath;
use workload::{KeySet, References};

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

/// What wiring one document found that is its own (its workloads, report lines and namesakes),
/// kept apart until every document is in, so that a document wired again replaces it.
#[derive(Default)]
struct Share {
    rewritten: Rewritten,
    report: Report,
    env_from_warnings: Vec<String>,
}

/// What the wired pods of the whole stream carry, move and read: sets, gathered as each
/// document is wired. A document wired again does not take its first share out: the first
/// time differs only in rewriting literals named like keys that other entries read by
/// reference, and each such entry added only what those entries add themselves (the key as
/// carried; in partial and full modes, a read of it from the synced Secret).
#[derive(Default)]
struct Totals {
    carried: BTreeSet<String>,
    moved: BTreeSet<modes::Moved>,
    refs: References,
}

/// The stream-wide facts one document is wired with.
struct Context<'c> {
    config: &'c Config,
    keys: &'c KeySet,
    wiring: &'c dyn Wiring,
    chart_objects: Vec<(workload::ObjectRef, Vec<String>)>,
    brief: bool,
}

impl Context<'_> {
    fn wire(
        &self,
        doc: &mut Document<'_>,
        by_reference: &BTreeSet<String>,
        totals: &mut Totals,
    ) -> Result<Share> {
        let config = self.config;
        let secret = config.existing_secret.as_deref().unwrap_or_default();
        let mut share = Share {
            report: Report {
                brief: self.brief,
                ..Report::default()
            },
            ..Share::default()
        };
        share.rewritten = modes::rewrite(
            doc,
            by_reference,
            self.keys,
            &config.targets,
            self.wiring,
            &mut share.report,
        )?;
        totals.carried.append(&mut share.rewritten.carried);
        totals.moved.append(&mut share.rewritten.moved);
        if config.operators.reloader {
            operators::reloader(doc, &share.rewritten.wired, secret);
        }
        prune::pod_references(doc, &mut totals.refs);
        share.env_from_warnings =
            modes::env_from_warnings(doc, &self.chart_objects, self.keys, &config.targets);
        Ok(share)
    }
}

/// [`run`], with the output left in pieces and the detail chosen: what the CLI uses.
///
/// Workloads are read one at a time, wired, written out and let go; the other documents a run
/// needs (Secrets, ConfigMaps, Lists) are read up front. A literal entry that only shares a
/// key's name is rewritten unless some entry reads that key by reference; a document wired
/// before such an entry turned up is read and wired again at the end.
pub fn wire<'a>(input: &'a str, config: &Config, options: Options) -> Result<Wired<'a>> {
    let mode = config.validate()?;
    let stream = stream::split(input);
    let infer_keys = mode == Mode::Full && config.keys.is_empty();
    let mut docs = Document::read_all(stream.chunks, !infer_keys)?;
    let mut report = Report {
        mode: mode.to_string(),
        option: mode.option_letter().to_string(),
        brief: !options.detail,
        ..Report::default()
    };

    let keys = if infer_keys {
        let secret = config.existing_secret.as_deref().unwrap_or_default();
        let (keys, note) = full::infer_keys(&docs, &config.targets, secret)?;
        report.notes.extend(note);
        keys
    } else {
        config.keys.clone()
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

    let context = Context {
        config,
        keys: &keys,
        wiring,
        chart_objects: modes::chart_objects(&docs),
        brief: !options.detail,
    };
    let mut by_reference = BTreeSet::new();
    let mut totals = Totals::default();
    let mut shares: Vec<(usize, Share)> = Vec::new();
    for (i, doc) in docs.iter_mut().enumerate() {
        doc.load()?;
        let Some(value) = &doc.value else {
            continue;
        };
        if !workload::objects(value)
            .into_iter()
            .any(|o| workload::pod_template(o).is_some())
        {
            continue;
        }
        by_reference.extend(modes::wired_by_reference(
            value,
            &keys,
            &config.targets,
            wiring,
        ));
        shares.push((i, context.wire(doc, &by_reference, &mut totals)?));
        if doc.deferred {
            doc.settle(options.detail);
        }
    }
    for (i, share) in shares.iter_mut() {
        if share.rewritten.rewrote_a_namesake_of(&by_reference) {
            let doc = &mut docs[*i];
            doc.reload()?;
            *share = context.wire(doc, &by_reference, &mut totals)?;
            if doc.deferred {
                doc.settle(options.detail);
            }
        }
    }

    let mut rewritten = Rewritten::default();
    rewritten.carried = totals.carried;
    rewritten.moved = totals.moved;
    let mut env_from_warnings = Vec::new();
    for (_, share) in shares {
        rewritten.absorb(share.rewritten);
        report.absorb(share.report);
        env_from_warnings.extend(share.env_from_warnings);
    }
    let refs = totals.refs;
    rewritten.warn_about_namesakes(&mut report);
    if !config.keep_plaintext {
        prune::plaintext(&mut docs, &rewritten.moved, &refs, &mut report);
    }
    let added = emit_for_operators(config, &mut docs, &keys, &rewritten, &refs, &mut report)?;
    report.warnings.extend(env_from_warnings);
    modes::uncarried_warnings(&keys, &rewritten.carried, &mut report);
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

/// Operator resources (partial and full modes); returns the documents to append. `refs`: what
/// the wired pods read.
fn emit_for_operators(
    config: &Config,
    docs: &mut [Document<'_>],
    keys: &KeySet,
    rewritten: &Rewritten,
    refs: &References,
    report: &mut Report,
) -> Result<Vec<operators::Resource>> {
    let secret = config.existing_secret.as_deref().unwrap_or_default();
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
    let synced_secret = workload::ObjectRef::secret(secret);
    let already = refs
        .required_keys_of(&synced_secret)
        .filter(|k| !synced.iter().any(|s| s == k))
        .map(str::to_string)
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
