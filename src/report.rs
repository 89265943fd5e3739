//! What vaultwire did and why: a structured change set (with an RFC 6902 JSON Patch per changed
//! document) and its plain-text form for `--explain`. Never a literal configuration value.

use std::fmt::Write as _;

use serde::Serialize;

use serde_json::Value;

use crate::error::Place;
use crate::stream::Held;
use crate::yaml;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub mode: String,
    /// `A`, `B` or `C`, as the integration document calls the modes.
    pub option: String,
    pub keys: Vec<String>,
    /// How the Vault path was read (mount mode).
    pub vault_path: Option<String>,
    pub env_changes: Vec<EnvChange>,
    pub annotation_changes: Vec<AnnotationChange>,
    /// Which chart object keys moved to which field.
    pub sources: Vec<SourceField>,
    pub removed_keys: Vec<RemovedKey>,
    /// Moved keys that stay in their object because something still reads them.
    pub kept: Vec<Kept>,
    /// Copies of a moved value elsewhere in the output (`plaintext-copy`).
    pub copies: Vec<PlaintextCopy>,
    pub dropped_documents: Vec<Place>,
    /// Operator resources vaultwire adds to the stream.
    pub added_documents: Vec<Place>,
    pub warnings: Vec<String>,
    /// Facts worth a line even without `--explain` (how a Vault path was read).
    pub notes: Vec<String>,
    pub patches: Vec<DocumentPatch>,
    /// Each changed document before and after, for a diff (the preview page's). With the
    /// detail only, like the patches; not part of the `--report` JSON, whose patches say the
    /// same in less.
    #[serde(skip)]
    pub documents: Vec<ChangedDocument>,
    /// Leave out the per-entry detail (env and annotation changes, patches), which only
    /// `--explain` and `--report` show and which a big stream pays for in memory.
    #[serde(skip)]
    pub brief: bool,
}

impl Report {
    /// Adds what wiring one more document reported.
    pub fn absorb(&mut self, other: Report) {
        self.env_changes.extend(other.env_changes);
        self.annotation_changes.extend(other.annotation_changes);
        self.removed_keys.extend(other.removed_keys);
        self.kept.extend(other.kept);
        self.copies.extend(other.copies);
        self.dropped_documents.extend(other.dropped_documents);
        self.added_documents.extend(other.added_documents);
        self.warnings.extend(other.warnings);
        self.notes.extend(other.notes);
        self.patches.extend(other.patches);
        self.documents.extend(other.documents);
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvChange {
    #[serde(flatten)]
    pub at: Place,
    pub container: String,
    pub env: String,
    pub key: String,
    /// Why the entry carries the key.
    pub because: String,
    /// What it was: `literal value`, `secretKeyRef NAME/KEY`, ... (never the value itself).
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationChange {
    #[serde(flatten)]
    pub at: Place,
    pub annotation: String,
    /// `added`, or `overwritten` under `--force`.
    pub action: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedKey {
    #[serde(flatten)]
    pub at: Place,
    pub key: String,
}

/// A moved key kept for a reader.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kept {
    #[serde(flatten)]
    pub at: Place,
    pub key: String,
    /// The first reader left, described.
    pub reader: String,
    /// How many readers are left.
    pub readers: usize,
}

/// A chart object key and the field it takes in Vault and in the synced Secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceField {
    pub object: String,
    pub key: String,
    pub field: String,
}

/// A string field of the output equal to a moved value (never the value itself).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaintextCopy {
    #[serde(flatten)]
    pub at: Place,
    /// The field holding the copy (`data.password`, `spec.template.spec.containers[0].env[2].value`).
    pub field: String,
    /// Whose value it is: `Secret 'db'/password`.
    pub of: String,
}

impl PlaintextCopy {
    pub fn message(&self) -> String {
        format!(
            "plaintext-copy: {}: field {} holds a copy of the value of {}, which moves to Vault; the copy stays in plain text",
            self.at.object(),
            self.field,
            self.of
        )
    }
}

impl Kept {
    pub fn message(&self) -> String {
        format!(
            "{}: keeps key {}: still read by {}{}",
            self.at.object(),
            self.key,
            self.reader,
            if self.readers > 1 {
                format!(" and {} other reader(s)", self.readers - 1)
            } else {
                String::new()
            }
        )
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentPatch {
    #[serde(flatten)]
    pub at: Place,
    /// RFC 6902 operations that turn the input document into the output document.
    pub patch: json_patch::Patch,
}

/// A changed document as read and as written, for a diff. Held as YAML text (LZ4-compressed
/// when long, like the output), not as parsed values, which cost many times their text: with the
/// detail on, every changed document of the stream is kept until the run ends.
#[derive(Debug, Clone)]
pub struct ChangedDocument {
    pub at: Place,
    before: Held,
    after: Held,
}

impl ChangedDocument {
    /// `before`: the document's input text; `after`: its text as vaultwire writes it.
    pub fn new(at: Place, before: &str, after: Held) -> Self {
        ChangedDocument {
            at,
            before: Held::new(before.to_string()),
            after,
        }
    }

    /// The document as read (it parsed when it was read).
    pub fn before(&self) -> Result<Value, yaml::ParseError> {
        yaml::parse(&self.before.text())
    }

    /// The document as written, keys in the order they are written.
    pub fn after(&self) -> Result<Value, yaml::ParseError> {
        yaml::parse(&self.after.text())
    }
}

impl Report {
    /// The `--explain` text: per document and container, every change and why.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "vaultwire: mode {} (Option {}), keys: {}",
            self.mode,
            self.option,
            if self.keys.is_empty() {
                "(none)".to_string()
            } else {
                self.keys.join(", ")
            }
        );
        if let Some(p) = &self.vault_path {
            let _ = writeln!(out, "vaultwire: {p}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "vaultwire: note: {n}");
        }
        let mut documents: Vec<usize> = self
            .env_changes
            .iter()
            .map(|c| c.at.document)
            .chain(self.annotation_changes.iter().map(|c| c.at.document))
            .chain(self.removed_keys.iter().map(|c| c.at.document))
            .collect();
        documents.sort_unstable();
        documents.dedup();
        for doc in documents {
            let env: Vec<&EnvChange> = self
                .env_changes
                .iter()
                .filter(|c| c.at.document == doc)
                .collect();
            let annotations: Vec<&AnnotationChange> = self
                .annotation_changes
                .iter()
                .filter(|c| c.at.document == doc)
                .collect();
            let removed: Vec<&RemovedKey> = self
                .removed_keys
                .iter()
                .filter(|c| c.at.document == doc)
                .collect();
            let at = env
                .first()
                .map(|c| &c.at)
                .or(annotations.first().map(|c| &c.at))
                .or(removed.first().map(|c| &c.at));
            if let Some(at) = at {
                let _ = writeln!(out, "{}:", at.object());
            }
            let mut container = None;
            for c in env {
                if container != Some(c.container.as_str()) {
                    let _ = writeln!(out, "  container '{}':", c.container);
                    container = Some(c.container.as_str());
                }
                let _ = writeln!(
                    out,
                    "    env {}: {} -> {} (key {}: {})",
                    c.env, c.before, c.after, c.key, c.because
                );
            }
            if !annotations.is_empty() {
                let _ = writeln!(out, "  pod template annotations:");
                for a in annotations {
                    let _ = writeln!(out, "    {} {}", a.action, a.annotation);
                }
            }
            if !removed.is_empty() {
                let keys: Vec<&str> = removed.iter().map(|r| r.key.as_str()).collect();
                let _ = writeln!(
                    out,
                    "  removed plaintext keys no env reads any more: {}",
                    keys.join(", ")
                );
            }
        }
        for d in &self.added_documents {
            let _ = writeln!(
                out,
                "added {} '{}' ({})",
                d.kind,
                d.name,
                d.source.as_deref().unwrap_or("")
            );
        }
        for d in &self.dropped_documents {
            let _ = writeln!(
                out,
                "{}: dropped: it is empty and nothing references it",
                d.object()
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let _ = writeln!(
            out,
            "vaultwire: {} env entries rewritten, {} annotations written, {} plaintext keys removed, {} documents dropped",
            self.env_changes.len(),
            self.annotation_changes.len(),
            self.removed_keys.len(),
            self.dropped_documents.len()
        );
        out
    }
}
