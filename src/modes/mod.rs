//! The three modes share one walk: find the env entries that carry a configured key in the
//! targeted workloads, rewrite each entry the mode's way, then let the mode edit the pod
//! template (mount mode's injector annotations).

pub mod full;
pub mod mount;
pub mod partial;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::config::Targets;
use crate::document::{object_place, Document};
use crate::error::{Place, Result};
use crate::operators::Wired;
use crate::report::{EnvChange, Located, Report};
use crate::workload::{
    items, objects, objects_mut, pod_template, pod_template_mut, runs_to_completion, selected,
    targeted_containers, Carried, EnvSource, KeySet, ObjectRef,
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
/// entry carries (rewritten now or already wired by an earlier run). Found per document and
/// gathered with [`Rewritten::absorb`].
#[derive(Debug, Default)]
pub struct Rewritten {
    pub moved: BTreeSet<Moved>,
    pub carried: BTreeSet<String>,
    /// Workloads with at least one entry that carries a key.
    pub wired: Vec<Wired>,
    /// key -> (where, literal) of entries rewritten because they carry the key by name only,
    /// to spot ambiguity.
    by_name: BTreeMap<String, Vec<(String, String)>>,
}

impl Rewritten {
    /// Adds what a later document found.
    pub fn absorb(&mut self, mut other: Rewritten) {
        self.moved.append(&mut other.moved);
        self.carried.append(&mut other.carried);
        self.wired.extend(other.wired);
        for (key, entries) in other.by_name {
            self.by_name.entry(key).or_default().extend(entries);
        }
    }

    /// True when this document rewrote a literal that only shares the name of a key which
    /// `by_reference` says is read by reference: it must be wired again with that knowledge.
    pub fn rewrote_a_namesake_of(&self, by_reference: &BTreeSet<String>) -> bool {
        self.by_name.keys().any(|k| by_reference.contains(k))
    }

    /// Once every document is in: warns about literals named like a key that differed.
    pub fn warn_about_namesakes(&self, report: &mut Report) {
        for (key, entries) in &self.by_name {
            let values: BTreeSet<&str> = entries.iter().map(|(_, v)| v.as_str()).collect();
            if values.len() > 1 {
                let places: Vec<&str> = entries.iter().map(|(at, _)| at.as_str()).collect();
                report.warnings.push(format!(
                    "key {key}: entries named {key} held different literal values ({}); all now take the one value of key {key}: restrict the targets if they are different settings",
                    places.join("; ")
                ));
            }
        }
    }
}

/// State of one rewrite.
struct Walk<'a> {
    keys: &'a KeySet,
    targets: &'a Targets,
    wiring: &'a dyn Wiring,
    report: &'a mut Report,
    /// Keys some targeted entry reads by reference (see [`wired_by_reference`]).
    by_reference: &'a BTreeSet<String>,
    found: Rewritten,
}

/// Rewrites the targeted workloads of one document. `by_reference` is what
/// [`wired_by_reference`] says of the whole stream, or of the part read so far: a document that
/// [`Rewritten::rewrote_a_namesake_of`] a key found later is read again and rewritten again.
pub fn rewrite(
    doc: &mut Document<'_>,
    by_reference: &BTreeSet<String>,
    keys: &KeySet,
    targets: &Targets,
    wiring: &dyn Wiring,
    report: &mut Report,
) -> Result<Rewritten> {
    let mut walk = Walk {
        by_reference,
        keys,
        targets,
        wiring,
        report,
        found: Rewritten::default(),
    };
    let base = doc.place();
    let Some(value) = doc.value.as_mut() else {
        return Ok(walk.found);
    };
    for (index, obj) in objects_mut(value).into_iter().enumerate() {
        if !selected(targets, obj) {
            continue;
        }
        let place = object_place(&base, obj);
        let completes = runs_to_completion(obj);
        let Some(pod) = pod_template_mut(obj) else {
            continue;
        };
        if walk.pod(pod, completes, &place)? {
            walk.found.wired.push(Wired {
                document: doc.index,
                object: index,
                kind: place.kind.clone().unwrap_or_default(),
                name: place.name.clone().unwrap_or_default(),
            });
        }
    }
    Ok(walk.found)
}

impl Walk<'_> {
    /// Rewrites one pod template; true when any of its entries carries a key.
    fn pod(&mut self, pod: &mut Value, completes: bool, place: &Place) -> Result<bool> {
        let context = self.wiring.pod_context(pod);
        let mut carriers = find_carriers(pod, self.keys, self.targets, &context);
        carriers.retain(|c| self.keeps(pod, c, place));
        if carriers.is_empty() {
            return Ok(false);
        }
        let mut pod_keys: Vec<String> = Vec::new();
        for c in &carriers {
            self.entry(pod, c, &context, place);
            self.found.carried.insert(c.key.clone());
            if !pod_keys.contains(&c.key) {
                pod_keys.push(c.key.clone());
            }
        }
        // Annotations follow the configured key order, not the env order.
        pod_keys.sort_by_key(|k| self.keys.keys.iter().position(|x| x == k));
        self.wiring
            .finish_pod(pod, &pod_keys, completes, place, self.report)?;
        Ok(true)
    }

    /// False for a literal entry that only shares the name of a key other entries read by
    /// reference: it is a different setting.
    fn keeps(&mut self, pod: &Value, c: &Carrier, place: &Place) -> bool {
        let container = &pod["spec"][c.list][c.container];
        let literal = container["env"][c.entry]
            .get("value")
            .and_then(Value::as_str);
        let Some(literal) = literal.filter(|_| c.because == Carried::ByName) else {
            return true;
        };
        let at = format!(
            "{place}: container '{}'",
            container["name"].as_str().unwrap_or("")
        );
        if self.by_reference.contains(&c.key) {
            self.report.notes.push(format!(
                "{at}: env {} keeps its literal value: other entries read key {} by reference, so this one, named like it, is a different setting (list it under `aliases` to rewrite it)",
                c.key, c.key
            ));
            return false;
        }
        self.found
            .by_name
            .entry(c.key.clone())
            .or_default()
            .push((at, literal.to_string()));
        true
    }

    fn entry(&mut self, pod: &mut Value, c: &Carrier, context: &str, place: &Place) {
        let container = &mut pod["spec"][c.list][c.container];
        let container_name = container["name"].as_str().unwrap_or("").to_string();
        let entry = &mut container["env"][c.entry];
        let env_name = entry["name"].as_str().unwrap_or("").to_string();
        let new_entry = self.wiring.entry(context, &env_name, &c.key);
        if *entry == new_entry {
            return;
        }
        let before = EnvSource::of(entry);
        let after = match (
            EnvSource::of(&new_entry),
            new_entry.get("value").and_then(Value::as_str),
        ) {
            (EnvSource::Literal, Some(path)) => format!("file {path}"),
            (source, _) => source.describe(),
        };
        if let Some((from, key)) = before.object_key() {
            if EnvSource::of(&new_entry).object_key() != Some((from.clone(), key)) {
                self.found.moved.insert(Moved {
                    from,
                    key: key.to_string(),
                });
            }
        }
        if !self.report.brief {
            self.report.env_changes.push(EnvChange {
                at: Located::from(place),
                container: container_name,
                env: env_name,
                key: c.key.clone(),
                because: c.because.describe().to_string(),
                before: before.describe(),
                after,
            });
        }
        *entry = new_entry;
    }
}

/// Keys that some targeted entry of a document reads by reference (or already from its
/// injector file): a
/// literal entry that only shares the key's name is then a different setting, such as the
/// dataservice's own `PORT` beside the gateway's `PORT` key.
pub fn wired_by_reference(
    value: &Value,
    keys: &KeySet,
    targets: &Targets,
    wiring: &dyn Wiring,
) -> BTreeSet<String> {
    let mut wired = BTreeSet::new();
    for obj in objects(value) {
        let Some(pod) = pod_template(obj).filter(|_| selected(targets, obj)) else {
            continue;
        };
        let context = wiring.pod_context(pod);
        for c in find_carriers(pod, keys, targets, &context) {
            if matches!(c.because, Carried::ByReference | Carried::ByFile) {
                wired.insert(c.key);
            }
        }
    }
    wired
}

fn find_carriers(pod: &Value, keys: &KeySet, targets: &Targets, files_dir: &str) -> Vec<Carrier> {
    let files_dir = Some(files_dir).filter(|d| !d.is_empty());
    let mut found = Vec::new();
    for (list, container, c) in targeted_containers(pod, targets) {
        for (entry, e) in items(c, "/env").enumerate() {
            if let Some((key, because)) = keys.carried(e, files_dir) {
                found.push(Carrier {
                    list,
                    container,
                    entry,
                    key,
                    because,
                });
            }
        }
    }
    found
}

/// The Secrets and ConfigMaps a stream renders, with their keys (for [`env_from_warnings`]).
pub fn chart_objects(docs: &[Document<'_>]) -> Vec<(ObjectRef, Vec<String>)> {
    docs.iter()
        .flat_map(|d| d.value.iter().flat_map(objects))
        .filter_map(|obj| ObjectRef::of(obj).map(|r| (r, crate::prune::data_keys(obj))))
        .collect()
}

/// Keys that reach a targeted container of one document through `envFrom`, which cannot be
/// rewritten per entry.
pub fn env_from_warnings(
    doc: &Document<'_>,
    chart_objects: &[(ObjectRef, Vec<String>)],
    keys: &KeySet,
    targets: &Targets,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let base = doc.place();
    for obj in doc.value.iter().flat_map(objects) {
        if !selected(targets, obj) {
            continue;
        }
        let Some(pod) = pod_template(obj) else {
            continue;
        };
        let place = object_place(&base, obj);
        for (_, _, c) in targeted_containers(pod, targets) {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
            let explicit: Vec<&str> = items(c, "/env")
                .filter_map(|e| e.get("name").and_then(Value::as_str))
                .collect();
            for from in items(c, "/envFrom") {
                let Some(target) = ObjectRef::of_env_from(from) else {
                    continue;
                };
                let prefix = from.get("prefix").and_then(Value::as_str).unwrap_or("");
                for (_, data) in chart_objects.iter().filter(|(r, _)| *r == target) {
                    for k in data.iter().filter(|k| keys.contains(k)) {
                        if !explicit.contains(&format!("{prefix}{k}").as_str()) {
                            warnings.push(format!(
                                "{place}: container '{cname}': key {k} reaches it through envFrom {} '{}', which vaultwire cannot rewrite per entry; the key still comes from there",
                                target.kind, target.name
                            ));
                        }
                    }
                }
            }
        }
    }
    warnings
}

/// Listed keys that no targeted env entry carries.
pub fn uncarried_warnings(keys: &KeySet, carried: &BTreeSet<String>, report: &mut Report) {
    for k in &keys.keys {
        if !carried.contains(k) {
            report.warnings.push(format!(
                "key {k} is not carried by any env entry of the targeted workloads"
            ));
        }
    }
}
