//! What partial and full modes emit for the operators that create the synced Secret: an
//! External Secrets Operator `ExternalSecret` (and optionally its store), Vault Secrets
//! Operator resources, and Stakater Reloader annotations. Added documents carry a template file
//! of their own (`vaultwire/<what>.yaml`); a second run finds and updates them in place.

pub mod eso;
pub mod vso;

use serde_json::{json, Value};

use crate::config::Config;
use crate::document::Document;
use crate::error::{Error, ErrorKind, Place, Result};
use crate::report::Report;
use crate::stream::FILENAME_ANNOTATION;
use crate::vault::VaultPath;
use crate::workload::{kind_of, name_of, objects_mut};

/// A document vaultwire adds to the stream.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `vaultwire/<file>`: the template file Helm groups it under.
    pub source: String,
    pub value: Value,
}

impl Resource {
    fn new(file: &str, value: Value) -> Self {
        Resource {
            source: format!("vaultwire/{file}"),
            value,
        }
    }
}

/// A workload whose env now reads the synced Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wired {
    pub document: usize,
    /// Position among the document's objects (items of a `kind: List`).
    pub object: usize,
    pub kind: String,
    pub name: String,
}

/// Everything the operators need, from the config, the Vault path and what the rewrite found.
/// `fields`: each field of the synced Secret with the Vault path it lives at.
pub fn resources(
    config: &Config,
    fields: &[(String, VaultPath)],
    wired: &[Wired],
) -> Result<Vec<Resource>> {
    let secret = config.existing_secret.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    let ops = &config.operators;
    if ops.external_secrets.enabled {
        if let Some((_, first)) = fields.first() {
            if let Some((f, p)) = fields
                .iter()
                .find(|(_, p)| p.mount != first.mount || p.kv_version != first.kv_version)
            {
                return Err(Error::config(format!(
                    "field {f} lives in Vault mount '{}', the others in '{}': one ExternalSecret store reads one KV mount",
                    p.mount, first.mount
                )));
            }
        }
        out.extend(eso::resources(config, secret, fields));
    }
    if ops.vault_secrets_operator.enabled {
        let mut paths: Vec<&VaultPath> = fields.iter().map(|(_, p)| p).collect();
        paths.dedup();
        let [path] = paths.as_slice() else {
            return Err(Error::config(format!(
                "the keys live at {} Vault paths, and a VaultStaticSecret syncs one path into its Secret: use --eso, or one path",
                paths.len()
            )));
        };
        let keys: Vec<String> = fields.iter().map(|(f, _)| f.clone()).collect();
        out.extend(vso::resources(config, path, secret, &keys, wired));
    }
    Ok(out)
}

/// How the stream names template files: Helm 4 annotates every document, Helm 3 writes
/// `# Source:` comments, anything else has neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Helm4,
    Helm3,
    Plain,
}

pub fn flavor(docs: &[Document<'_>]) -> Flavor {
    if docs
        .iter()
        .any(|d| d.chunk.body.contains(FILENAME_ANNOTATION))
    {
        Flavor::Helm4
    } else if docs
        .iter()
        .any(|d| d.chunk.leading_comments().contains("# Source:"))
    {
        Flavor::Helm3
    } else {
        Flavor::Plain
    }
}

/// Puts each resource into the stream: in place of the one an earlier run added, or at the end.
/// A same-named object the chart renders itself is a conflict unless `force`.
pub fn place(
    docs: &mut [Document<'_>],
    resources: Vec<Resource>,
    flavor: Flavor,
    force: bool,
    report: &mut Report,
) -> Result<Vec<Resource>> {
    let mut appended = Vec::new();
    // Kinds vaultwire does not otherwise read: parse them now to find an earlier run's output.
    for doc in docs.iter_mut().filter(|d| d.value.is_none()) {
        let kind = doc.chunk.top_level_kind();
        if resources.iter().any(|r| Some(kind_of(&r.value)) == kind) {
            doc.value = crate::yaml::parse(doc.chunk.body).ok();
            doc.original = doc.value.clone();
        }
    }
    for mut r in resources {
        if flavor == Flavor::Helm4 {
            r.value["metadata"]["annotations"][FILENAME_ANNOTATION] = json!(r.source);
        }
        let existing = docs.iter_mut().find(|d| {
            d.value
                .as_ref()
                .is_some_and(|v| kind_of(v) == kind_of(&r.value) && name_of(v) == name_of(&r.value))
        });
        match existing {
            None => {
                report.added_documents.push(Place {
                    document: 0,
                    source: Some(r.source.clone()),
                    kind: kind_of(&r.value).to_string(),
                    name: name_of(&r.value).to_string(),
                    ..Place::default()
                });
                appended.push(r);
            }
            Some(doc) => {
                let ours = doc
                    .chunk
                    .source()
                    .is_some_and(|s| s.starts_with("vaultwire/"));
                if !ours && !force {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "the chart renders this {} itself; vaultwire would generate it: remove one, or pass --force to replace the chart's",
                            kind_of(&r.value)
                        ),
                    )
                    .at(doc.place()));
                }
                doc.value = Some(r.value);
                doc.touched = true;
            }
        }
    }
    Ok(appended)
}

/// Stakater Reloader restarts a workload when the Secret it names changes (Deployments,
/// StatefulSets, DaemonSets and Argo Rollouts; a Job is not restarted).
/// `wired`: what the rewrite of this document wired.
/// True when it changed the document.
pub fn reloader(doc: &mut Document<'_>, wired: &[Wired], secret: &str) -> bool {
    let mut changed = false;
    const RELOAD: &str = "secret.reloader.stakater.com/reload";
    let restartable = |k: &str| matches!(k, "Deployment" | "StatefulSet" | "DaemonSet" | "Rollout");
    for w in wired.iter().filter(|w| restartable(&w.kind)) {
        let Some(value) = doc.value.as_mut().filter(|_| w.document == doc.index) else {
            continue;
        };
        let Some(obj) = objects_mut(value).into_iter().nth(w.object) else {
            continue;
        };
        let annotations = &mut obj["metadata"]["annotations"];
        let current = annotations
            .get(RELOAD)
            .and_then(Value::as_str)
            .unwrap_or("");
        if current.split(',').any(|s| s.trim() == secret) {
            continue;
        }
        let merged = if current.is_empty() {
            secret.to_string()
        } else {
            format!("{current},{secret}")
        };
        annotations[RELOAD] = json!(merged);
        changed = true;
    }
    changed
}
