//! The three modes share one walk: find the env entries that carry a configured key in the
//! targeted workloads, rewrite each entry the mode's way, then let the mode edit the pod
//! template (mount mode's injector annotations).

pub mod full;
pub mod mount;
pub mod partial;

use std::collections::BTreeSet;

use serde_json::Value;

use crate::config::Targets;
use crate::document::{object_place, Document};
use crate::error::{Place, Result};
use crate::report::{EnvChange, Located, Report};
use crate::workload::{
    container_selected, pod_template_mut, runs_to_completion, selected, Carried, EnvSource, KeySet,
    ObjectRef, CONTAINER_LISTS,
};

/// How a mode wires one pod.
pub trait Wiring {
    /// Per pod template, before its entries are rewritten (mount mode reads the volume path).
    fn pod_context(&self, pod: &Value) -> String;
    /// The env entry that carries `key` after the rewrite.
    fn entry(&self, context: &str, env_name: &str, key: &str) -> Value;
    /// Pod-level edits once the pod's entries are rewritten; `keys` are those its env carries.
    fn finish_pod(
        &self,
        pod: &mut Value,
        keys: &[String],
        runs_to_completion: bool,
        place: &Place,
        report: &mut Report,
    ) -> Result<()>;
}

/// A key that an env entry no longer reads from a chart object: plaintext that may go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moved {
    pub from: ObjectRef,
    pub key: String,
}

/// One env entry found to carry a key.
struct Carrier {
    list: &'static str,
    container: usize,
    entry: usize,
    key: String,
    because: Carried,
}

/// What a rewrite found: keys moved away from chart objects, and every key some targeted env
/// entry carries (rewritten now or already wired by an earlier run).
#[derive(Debug, Default)]
pub struct Rewritten {
    pub moved: Vec<Moved>,
    pub carried: BTreeSet<String>,
}

/// Rewrites every targeted workload.
pub fn rewrite(
    docs: &mut [Document<'_>],
    keys: &KeySet,
    targets: &Targets,
    wiring: &dyn Wiring,
    report: &mut Report,
) -> Result<Rewritten> {
    let mut moved = Vec::new();
    let mut carried = BTreeSet::new();
    for doc in docs.iter_mut() {
        let base = doc.place();
        let Some(value) = doc.value.as_mut() else {
            continue;
        };
        for obj in crate::workload::objects_mut(value) {
            if !selected(targets, obj) {
                continue;
            }
            let place = object_place(&base, obj);
            let completes = runs_to_completion(obj);
            let Some(pod) = pod_template_mut(obj) else {
                continue;
            };
            let context = wiring.pod_context(pod);
            let carriers = find_carriers(pod, keys, targets, &context);
            if carriers.is_empty() {
                continue;
            }
            let mut pod_keys: Vec<String> = Vec::new();
            for c in &carriers {
                let container = &mut pod["spec"][c.list][c.container];
                let container_name = container["name"].as_str().unwrap_or("").to_string();
                let entry = &mut container["env"][c.entry];
                let env_name = entry["name"].as_str().unwrap_or("").to_string();
                let source = EnvSource::of(entry);
                let new_entry = wiring.entry(&context, &env_name, &c.key);
                if *entry != new_entry {
                    let after = EnvSource::of(&new_entry);
                    let after = match (&after, new_entry.get("value").and_then(Value::as_str)) {
                        (EnvSource::Literal, Some(path)) => format!("file {path}"),
                        _ => after.describe(),
                    };
                    report.env_changes.push(EnvChange {
                        at: Located::from(&place),
                        container: container_name,
                        env: env_name,
                        key: c.key.clone(),
                        because: c.because.describe().to_string(),
                        before: source.describe(),
                        after,
                    });
                    if let Some((from, key)) = source.object_key() {
                        if EnvSource::of(&new_entry).object_key() != Some((from.clone(), key)) {
                            moved.push(Moved {
                                from,
                                key: key.to_string(),
                            });
                        }
                    }
                    *entry = new_entry;
                }
                carried.insert(c.key.clone());
                if !pod_keys.contains(&c.key) {
                    pod_keys.push(c.key.clone());
                }
            }
            // Annotations follow the configured key order, not the env order.
            pod_keys.sort_by_key(|k| keys.keys.iter().position(|x| x == k));
            wiring.finish_pod(pod, &pod_keys, completes, &place, report)?;
        }
    }
    moved.sort();
    moved.dedup();
    Ok(Rewritten { moved, carried })
}

fn find_carriers(pod: &Value, keys: &KeySet, targets: &Targets, files_dir: &str) -> Vec<Carrier> {
    let files_dir = Some(files_dir).filter(|d| !d.is_empty());
    let mut found = Vec::new();
    for list in CONTAINER_LISTS {
        let containers = pod
            .get("spec")
            .and_then(|s| s.get(list))
            .and_then(Value::as_array);
        for (ci, c) in containers.into_iter().flatten().enumerate() {
            if !container_selected(targets, c) {
                continue;
            }
            for (ei, e) in c
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some((key, because)) = keys.carried(e, files_dir) {
                    found.push(Carrier {
                        list,
                        container: ci,
                        entry: ei,
                        key,
                        because,
                    });
                }
            }
        }
    }
    found
}

/// Warnings every mode shares: listed keys found nowhere, and keys that reach a targeted
/// container through `envFrom`, which cannot be rewritten per entry.
pub fn warnings(
    docs: &[Document<'_>],
    keys: &KeySet,
    targets: &Targets,
    carried: &BTreeSet<String>,
    report: &mut Report,
) {
    let mut chart_objects: Vec<(ObjectRef, Vec<String>)> = Vec::new();
    for doc in docs {
        for obj in doc.value.iter().flat_map(crate::workload::objects) {
            if let Some(r) = ObjectRef::of(obj) {
                chart_objects.push((r, crate::prune::data_keys(obj)));
            }
        }
    }
    for doc in docs {
        let base = doc.place();
        for obj in doc.value.iter().flat_map(crate::workload::objects) {
            if !selected(targets, obj) {
                continue;
            }
            let Some(pod) = crate::workload::pod_template(obj) else {
                continue;
            };
            let place = object_place(&base, obj);
            for list in CONTAINER_LISTS {
                for c in pod
                    .pointer(&format!("/spec/{list}"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if !container_selected(targets, c) {
                        continue;
                    }
                    let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
                    let explicit: Vec<&str> = c
                        .get("env")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.get("name").and_then(Value::as_str))
                        .collect();
                    for from in c
                        .get("envFrom")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let target = from
                            .pointer("/secretRef/name")
                            .and_then(Value::as_str)
                            .map(ObjectRef::secret)
                            .or_else(|| {
                                from.pointer("/configMapRef/name")
                                    .and_then(Value::as_str)
                                    .map(ObjectRef::config_map)
                            });
                        let Some(target) = target else { continue };
                        let prefix = from.get("prefix").and_then(Value::as_str).unwrap_or("");
                        for (_, data) in chart_objects.iter().filter(|(r, _)| *r == target) {
                            for k in data.iter().filter(|k| keys.contains(k)) {
                                if !explicit.contains(&format!("{prefix}{k}").as_str()) {
                                    report.warnings.push(format!(
                                        "{}: container '{cname}': key {k} reaches the container through envFrom {} '{}', which vaultwire cannot rewrite per entry; it still comes from there",
                                        Place { container: None, ..place.clone() },
                                        target.kind,
                                        target.name
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for k in &keys.keys {
        if !carried.contains(k) {
            report.warnings.push(format!(
                "key {k} is not carried by any env entry of the targeted workloads"
            ));
        }
    }
}
