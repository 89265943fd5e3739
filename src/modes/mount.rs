//! Option B: the Vault Agent Injector writes one file per key, and each env entry carrying the
//! key becomes that file's path (the app reads a value that is a path from the file).
//!
//! Correct by construction: the file is named explicitly (`agent-inject-file-<name>: KEY`), so
//! vault-k8s' lower-casing of `<name>` cannot move it away from the path the env points to.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::config::{DeliveryConfig, DEFAULT_SECRET_VOLUME_PATH};
use crate::error::{Error, ErrorKind, Result};
use crate::modes::delivery::{self, InjectorFile};
use crate::modes::{PodFiles, Wiring};
use crate::report::{AnnotationChange, Report};
use crate::vault::{legal_annotation_name, secret_names, VaultPath, PREFIX};

pub struct InjectorFiles {
    /// The Vault path of each field.
    pub paths: BTreeMap<String, VaultPath>,
    pub role: Option<String>,
    /// Configured directory; `None` follows the pod's own `secret-volume-path`.
    pub volume_path: Option<String>,
    /// Every field, in configured order: injector `<name>`s are derived from them first.
    pub fields: Vec<String>,
    pub delivery: DeliveryConfig,
    /// Extra annotations from the config, full keys.
    pub extra: Vec<(String, String)>,
    pub force: bool,
}

impl InjectorFiles {
    pub fn new(
        paths: BTreeMap<String, VaultPath>,
        role: Option<String>,
        volume_path: Option<String>,
        keys: &[String],
        extra: &BTreeMap<String, String>,
        delivery: DeliveryConfig,
        force: bool,
    ) -> Result<Self> {
        let mut full_extra = Vec::new();
        for (k, v) in extra {
            let key = if k.contains('/') {
                k.clone()
            } else {
                format!("{PREFIX}{k}")
            };
            let name = key.rsplit('/').next().unwrap_or("");
            if !legal_annotation_name(name) {
                return Err(Error::config(format!(
                    "annotation '{key}' is not a legal annotation name (at most 63 characters, letters, digits, '-', '_', '.')"
                )));
            }
            full_extra.push((key, v.clone()));
        }
        Ok(InjectorFiles {
            paths,
            role,
            volume_path: volume_path.map(|p| p.trim_end_matches('/').to_string()),
            fields: keys.to_vec(),
            delivery,
            extra: full_extra,
            force,
        })
    }

    /// The annotations this pod needs, in a stable order.
    fn wanted(&self, pod: &Value, dir: &str, files: &PodFiles<'_>) -> Vec<(String, String)> {
        let existing = |name: &str| {
            pod.pointer(&format!(
                "/metadata/annotations/{}",
                name.replace('/', "~1")
            ))
        };
        let global_dir = existing(&format!("{PREFIX}secret-volume-path"))
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_SECRET_VOLUME_PATH)
            .trim_end_matches('/');
        let mut wanted = vec![(format!("{PREFIX}agent-inject"), "true".to_string())];
        if let Some(role) = &self.role {
            wanted.push((format!("{PREFIX}role"), role.clone()));
        }
        if files.runs_to_completion {
            wanted.push((
                format!("{PREFIX}agent-pre-populate-only"),
                "true".to_string(),
            ));
        }
        if files.init_reads {
            // The injector puts its init container after the chart's own unless told: an init
            // container reading a file would find none.
            wanted.push((format!("{PREFIX}agent-init-first"), "true".to_string()));
        }
        // Names come from the fields first, so a field's name is the same in every pod.
        let mut keys = self.fields.clone();
        keys.extend(
            files
                .files
                .iter()
                .filter(|f| !self.paths.contains_key(&f.file))
                .map(|f| f.file.clone()),
        );
        let names = secret_names(&keys);
        for f in files.files {
            let n = &names[&f.file];
            wanted.push((
                format!("{PREFIX}agent-inject-secret-{n}"),
                f.api_path.clone(),
            ));
            wanted.push((
                format!("{PREFIX}agent-inject-template-{n}"),
                f.template.clone(),
            ));
            wanted.push((format!("{PREFIX}agent-inject-file-{n}"), f.file.clone()));
            wanted.push((
                format!("{PREFIX}error-on-missing-key-{n}"),
                "true".to_string(),
            ));
            let per_name = format!("{PREFIX}secret-volume-path-{n}");
            if dir != global_dir || existing(&per_name).is_some() {
                wanted.push((per_name, dir.to_string()));
            }
        }
        wanted.extend(self.extra.iter().cloned());
        wanted
    }
}

impl Wiring for InjectorFiles {
    fn pod_context(&self, pod: &Value) -> String {
        self.volume_path.clone().unwrap_or_else(|| {
            pod.pointer(&format!(
                "/metadata/annotations/{}secret-volume-path",
                PREFIX.replace('/', "~1")
            ))
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_SECRET_VOLUME_PATH)
            .trim_end_matches('/')
            .to_string()
        })
    }

    fn entry(&self, dir: &str, env_name: &str, field: &str) -> Value {
        json!({"name": env_name, "value": format!("{dir}/{field}")})
    }

    fn wired_field(&self, dir: &str, entry: &Value) -> Option<String> {
        if entry.get("valueFrom").is_some() {
            return None;
        }
        let file = entry
            .get("value")?
            .as_str()?
            .strip_prefix(dir)?
            .strip_prefix('/')?;
        self.paths.contains_key(file).then(|| file.to_string())
    }

    fn deliver(
        &self,
        c: &mut Value,
        job: delivery::Job<'_>,
        report: &mut Report,
    ) -> Result<Vec<InjectorFile>> {
        let style = self
            .delivery
            .for_container(&job.at.name, job.at.container.as_deref().unwrap_or(""));
        delivery::deliver(c, job, &style, &self.paths, report)
    }

    fn finish_pod(&self, pod: &mut Value, files: PodFiles<'_>, report: &mut Report) -> Result<()> {
        let place = files.place;
        let dir = self.pod_context(pod);
        let wanted = self.wanted(pod, &dir, &files);
        let has_role = pod
            .pointer(&format!(
                "/metadata/annotations/{}role",
                PREFIX.replace('/', "~1")
            ))
            .is_some();
        if self.role.is_none() && !has_role {
            return Err(Error::config(
                "mount mode needs the Vault role the injector logs in with: pass --role ROLE or set `vault.role:`",
            )
            .at(place.clone()));
        }
        let annotations = annotations_mut(pod);
        for (key, value) in wanted {
            match annotations.get(&key) {
                None => {
                    annotations.insert(key.clone(), Value::String(value));
                    if !report.brief {
                        report.annotation_changes.push(AnnotationChange {
                            at: place.object(),
                            annotation: key,
                            action: "added".into(),
                        });
                    }
                }
                Some(Value::String(old)) if *old == value => {}
                Some(old) if !old.is_string() => {
                    return Err(Error::new(
                        ErrorKind::Input,
                        format!(
                            "annotation {key} is {}, not a string: annotation values must be strings (quote it in the chart's values: \"{}\")",
                            kind_of_value(old),
                            scalar_text(old)
                        ),
                    )
                    .at(place.clone()));
                }
                Some(old) => {
                    if !self.force {
                        let shown = if key.contains("agent-inject-template-") {
                            "a different template".to_string()
                        } else {
                            format!("'{}' where vaultwire writes '{value}'", scalar_text(old))
                        };
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            format!(
                                "conflicting annotation {key}: the chart sets {shown}; remove it from the chart's values or pass --force to overwrite it"
                            ),
                        )
                        .at(place.clone()));
                    }
                    annotations.insert(key.clone(), Value::String(value));
                    if !report.brief {
                        report.annotation_changes.push(AnnotationChange {
                            at: place.object(),
                            annotation: key,
                            action: "overwrote (--force)".into(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

fn kind_of_value(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Null => "null",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
        Value::String(_) => "a string",
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The pod template's annotations, created (metadata first) when missing.
fn annotations_mut(pod: &mut Value) -> &mut Map<String, Value> {
    let map = pod.as_object_mut().expect("pod templates are objects");
    if !map.get("metadata").is_some_and(Value::is_object) {
        let rest = std::mem::take(map);
        map.insert("metadata".into(), json!({}));
        map.extend(rest.into_iter().filter(|(k, _)| k != "metadata"));
    }
    let meta = map
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .expect("metadata set above");
    if !meta.get("annotations").is_some_and(Value::is_object) {
        meta.insert("annotations".into(), json!({}));
    }
    meta.get_mut("annotations")
        .and_then(Value::as_object_mut)
        .expect("annotations set above")
}
