//! The rewrite every mode shares, as small steps over one pod template: find the env entries
//! that carry a selected secret, rewrite each the mode's way, add an explicit entry for a
//! selected key that reaches a container only through `envFrom`, then let the mode edit the
//! pod (mount mode's injector annotations).

pub mod compose;
pub mod delivery;
pub mod full;
pub mod mount;
pub mod partial;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::config::Targets;
use crate::document::{object_place, Document};
use crate::error::{Error, ErrorKind, Place, Result};
use crate::objects::{ChartObjects, ObjectRef};
use crate::operators::Wired;
use crate::references::{env_from_fate, env_from_sources, left_through_env_from, EnvFromFate};
use crate::report::{EnvChange, Report};
use crate::selection::{LiteralMatch, Selection};
use delivery::InjectorFile;

use crate::workload::{
    objects_mut, pod_template_mut, runs_to_completion, selected, EnvSource, CONTAINER_LISTS,
};

/// How a mode wires one pod.
pub trait Wiring {
    /// Per pod template, before its entries are rewritten (mount mode reads the volume path).
    fn pod_context(&self, pod: &Value) -> String;
    /// The env entry that carries `field` after the rewrite.
    fn entry(&self, context: &str, env_name: &str, field: &str) -> Value;
    /// The field an entry already carries the mode's way (a second run changes nothing).
    fn wired_field(&self, context: &str, entry: &Value) -> Option<String>;
    /// Mount mode: hands the container's carried entries to its app (path, file or exec
    /// delivery, `$(VAR)` values composed); returns the injector files it reads. Other modes
    /// change nothing: Kubernetes expands `$(VAR)` from the keyRef's value.
    fn deliver(
        &self,
        _container: &mut Value,
        _job: delivery::Job<'_>,
        _report: &mut Report,
    ) -> Result<Vec<InjectorFile>> {
        Ok(Vec::new())
    }
    /// Pod-level edits once the pod's containers are wired: `files` are the injector files
    /// they read; `init_reads`: an init container reads one.
    fn finish_pod(
        &self,
        pod: &mut Value,
        pod_files: PodFiles<'_>,
        report: &mut Report,
    ) -> Result<()>;
}

/// What [`Wiring::finish_pod`] gets.
pub struct PodFiles<'a> {
    pub files: &'a [InjectorFile],
    pub init_reads: bool,
    pub runs_to_completion: bool,
    pub place: &'a Place,
}

/// A key that an env entry no longer reads from a chart object: plaintext that may go.
pub type Moved = (ObjectRef, String);

/// Why an env entry carries its secret; shown by `--explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Because {
    Reference,
    Wired,
    SamePlaintext,
    Name,
    Alias,
    EnvFrom,
}

impl Because {
    fn describe(self) -> &'static str {
        match self {
            Because::Reference => "its keyRef reads it",
            Because::Wired => "it already reads it",
            Because::SamePlaintext => "a literal equal to the key's plaintext",
            Because::Name => "its name is the key",
            Because::Alias => "configured alias",
            Because::EnvFrom => "it reached the container through envFrom",
        }
    }
}

/// What the rewrite of the stream found.
#[derive(Debug, Default)]
pub struct Rewritten {
    /// Sources whose readers were rewritten.
    pub moved: BTreeSet<Moved>,
    /// Fields some targeted entry carries.
    pub carried: BTreeSet<String>,
    /// Workloads with at least one entry that carries a field.
    pub wired: Vec<Wired>,
    /// field -> (where, value) of literal entries carried by name without a known plaintext:
    /// two different values are two secrets.
    by_name: BTreeMap<String, Vec<(String, String)>>,
}

impl Rewritten {
    /// Literal entries of one key carried by name must hold one value.
    pub fn check_by_name(&self) -> Result<()> {
        for (field, entries) in &self.by_name {
            let values: BTreeSet<&str> = entries.iter().map(|(_, v)| v.as_str()).collect();
            if values.len() > 1 {
                let places: Vec<&str> = entries.iter().map(|(at, _)| at.as_str()).collect();
                return Err(Error::new(
                    ErrorKind::Input,
                    format!(
                        "key {field}: literal env entries named {field} hold {} different values ({}); one Vault field would merge them: restrict the targets (--target-name) or move them one by one",
                        values.len(),
                        places.join("; ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The rewrite, with the stream-wide facts it needs.
pub struct Rewrite<'a> {
    pub selection: &'a Selection,
    pub objects: &'a ChartObjects,
    pub targets: &'a Targets,
    pub wiring: &'a dyn Wiring,
    pub found: Rewritten,
    /// Something was changed since the last [`Rewrite::take_changed`]: the document must be
    /// written anew (a second run on wired output changes nothing and keeps its bytes).
    changed: bool,
}

impl<'a> Rewrite<'a> {
    pub fn new(
        selection: &'a Selection,
        objects: &'a ChartObjects,
        targets: &'a Targets,
        wiring: &'a dyn Wiring,
    ) -> Self {
        Rewrite {
            selection,
            objects,
            targets,
            wiring,
            found: Rewritten::default(),
            changed: false,
        }
    }

    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

/// One entry to rewrite.
struct Carrier {
    entry: usize,
    field: String,
    because: Because,
    from: Option<Moved>,
}

impl Rewrite<'_> {
    /// Rewrites the targeted workloads of one document.
    pub fn document(&mut self, doc: &mut Document<'_>, report: &mut Report) -> Result<()> {
        let base = doc.place();
        let index = doc.index;
        let Some(value) = doc.value.as_mut() else {
            return Ok(());
        };
        for (i, obj) in objects_mut(value).into_iter().enumerate() {
            if !selected(self.targets, obj) {
                continue;
            }
            let place = object_place(&base, obj);
            let completes = runs_to_completion(obj);
            let Some(pod) = pod_template_mut(obj) else {
                continue;
            };
            if self.pod(pod, completes, &place, report)? {
                self.found.wired.push(Wired {
                    document: index,
                    object: i,
                    kind: place.kind.clone(),
                    name: place.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Rewrites one pod template; true when any of its entries carries a field.
    fn pod(
        &mut self,
        pod: &mut Value,
        completes: bool,
        place: &Place,
        report: &mut Report,
    ) -> Result<bool> {
        let context = self.wiring.pod_context(pod);
        let service_links = pod.pointer("/spec/enableServiceLinks") != Some(&Value::Bool(false));
        let mut fields: Vec<String> = Vec::new();
        let mut files: Vec<InjectorFile> = Vec::new();
        let mut taken = BTreeMap::new();
        let mut init_reads = false;
        let annotations = pod.pointer("/metadata/annotations").cloned();
        for list in CONTAINER_LISTS {
            let Some(containers) = pod
                .pointer_mut(&format!("/spec/{list}"))
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for c in containers.iter_mut() {
                if !crate::workload::container_selected(self.targets, c) {
                    continue;
                }
                let at = Place {
                    container: c.get("name").and_then(Value::as_str).map(str::to_string),
                    ..place.clone()
                };
                let carried = self.container(c, &context, &at, report);
                if carried.is_empty() {
                    // exec delivery leaves no env entry behind: its env file says what it reads
                    let done = delivery::exec_delivered_fields(annotations.as_ref(), c);
                    let done: Vec<String> = done
                        .into_iter()
                        .filter(|f| self.selection.of_field(f).is_some())
                        .collect();
                    init_reads |= list == "initContainers" && !done.is_empty();
                    for field in done {
                        if !fields.contains(&field) {
                            fields.push(field);
                        }
                    }
                    continue;
                }
                init_reads |= list == "initContainers";
                for (_, field, _) in &carried {
                    if !fields.contains(field) {
                        fields.push(field.clone());
                    }
                }
                let job = delivery::Job {
                    dir: &context,
                    carried,
                    env_from: self.env_from_keys(c),
                    service_links,
                    at: &at,
                    taken: &mut taken,
                };
                let before = c.clone();
                for f in self.wiring.deliver(c, job, report)? {
                    if !files.iter().any(|g| g.file == f.file) {
                        files.push(f);
                    }
                }
                self.changed |= *c != before;
            }
        }
        if fields.is_empty() {
            return Ok(false);
        }
        // Annotations follow the configured order, not the env order.
        fields.sort_by_key(|f| self.selection.order(f));
        // Files of fields in the fields' order, then composed and exec files as found.
        let mut ordered: Vec<InjectorFile> = Vec::with_capacity(files.len());
        for field in &fields {
            if let Some(i) = files.iter().position(|f| f.file == *field) {
                ordered.push(files.remove(i));
            }
        }
        ordered.append(&mut files);
        let files = ordered;
        self.found.carried.extend(fields.iter().cloned());
        let before = pod.pointer("/metadata/annotations").cloned();
        let pod_files = PodFiles {
            files: &files,
            init_reads,
            runs_to_completion: completes,
            place,
        };
        self.wiring.finish_pod(pod, pod_files, report)?;
        self.changed |= pod.pointer("/metadata/annotations") != before.as_ref();
        Ok(true)
    }

    /// The variables the container's `envFrom` sources define: per source, the keys it is
    /// known to hold (none: a source outside the stream).
    fn env_from_keys(&self, c: &Value) -> compose::EnvFromKeys {
        crate::workload::items(c, "/envFrom")
            .filter_map(|f| {
                let prefix = f.get("prefix").and_then(Value::as_str).unwrap_or("");
                let target = ObjectRef::of_env_from(f)?;
                let keys = self
                    .objects
                    .get(&target)
                    .map(|o| o.keys.iter().map(|k| format!("{prefix}{k}")).collect());
                Some((format!("envFrom {} '{}'", target.kind, target.name), keys))
            })
            .collect()
    }

    /// Rewrites one container; returns `(env index, field, rewritten now)` of each entry that
    /// carries a field.
    fn container(
        &mut self,
        c: &mut Value,
        context: &str,
        at: &Place,
        report: &mut Report,
    ) -> Vec<(usize, String, bool)> {
        let carriers = self.carriers(c, context, at, report);
        let added = self.env_from_entries(c, at, report);
        // In env order: the added entries go to the head, the carriers keep their order.
        let mut carried: Vec<(usize, String, bool)> = Vec::new();
        let env_len = c.get("env").and_then(Value::as_array).map_or(0, Vec::len);
        debug_assert!(carriers.iter().all(|x| x.entry < env_len));
        if !added.is_empty() {
            self.changed = true;
            let mut entries: Vec<Value> = Vec::new();
            for (i, (name, field, from)) in added.iter().enumerate() {
                let entry = self.wiring.entry(context, name, field);
                self.record(
                    at,
                    name,
                    field,
                    Because::EnvFrom,
                    &format!("envFrom {} '{}'", from.0.kind, from.0.name),
                    &entry,
                    report,
                );
                self.found.moved.insert(from.clone());
                carried.push((i, field.clone(), true));
                entries.push(entry);
            }
            let map = c.as_object_mut().expect("containers are objects");
            let env = map.entry("env").or_insert_with(|| json!([]));
            if let Some(list) = env.as_array_mut() {
                // At the head: an explicit entry wins over envFrom, and one defined first is
                // there for every `$(VAR)` that follows.
                list.splice(0..0, entries);
            }
        }
        for carrier in &carriers {
            let entry = carrier.entry + added.len();
            self.rewrite_entry(c, entry, carrier, context, at, report);
            carried.push((
                entry,
                carrier.field.clone(),
                carrier.because != Because::Wired,
            ));
        }
        carried
    }

    fn carriers(
        &mut self,
        c: &Value,
        context: &str,
        at: &Place,
        report: &mut Report,
    ) -> Vec<Carrier> {
        let mut found = Vec::new();
        let Some(env) = c.get("env").and_then(Value::as_array) else {
            return found;
        };
        for (i, e) in env.iter().enumerate() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("");
            if let Some(field) = self.wiring.wired_field(context, e) {
                if self.selection.of_field(&field).is_some() {
                    found.push(Carrier {
                        entry: i,
                        field,
                        because: Because::Wired,
                        from: None,
                    });
                    continue;
                }
            }
            match EnvSource::of(e) {
                source @ (EnvSource::SecretKey { .. } | EnvSource::ConfigMapKey { .. }) => {
                    let Some((obj, key)) = source.object_key() else {
                        continue;
                    };
                    if let Some(s) = self.selection.of_source(&obj, key) {
                        found.push(Carrier {
                            entry: i,
                            field: s.field.clone(),
                            because: Because::Reference,
                            from: Some((obj.clone(), key.to_string())),
                        });
                    }
                }
                EnvSource::Literal => {
                    let Some(value) = e.get("value").map(scalar_text) else {
                        continue;
                    };
                    let (m, alias) = self.selection.literal(name, &value);
                    match m {
                        LiteralMatch::Carries(s) => {
                            let s = &self.selection.selected[s];
                            let because = if alias {
                                Because::Alias
                            } else if s.plain.is_some() {
                                Because::SamePlaintext
                            } else {
                                Because::Name
                            };
                            if s.plain.is_none() {
                                self.found
                                    .by_name
                                    .entry(s.field.clone())
                                    .or_default()
                                    .push((format!("{at}: env '{name}'"), value));
                            }
                            found.push(Carrier { entry: i, field: s.field.clone(), because, from: None });
                        }
                        LiteralMatch::Differs(s) => report.notes.push(format!(
                            "{at}: env {name} keeps its literal value: it differs from the plaintext of key {}, so it is a different setting",
                            self.selection.selected[s].key
                        )),
                        LiteralMatch::ReadByReference(s) => report.notes.push(format!(
                            "{at}: env {name} keeps its literal value: other entries read key {} by reference and its plaintext is not in the stream, so this one, named like it, is a different setting (list it under `aliases` to move it)",
                            self.selection.selected[s].key
                        )),
                        LiteralMatch::None => {}
                    }
                }
                EnvSource::Other => {}
            }
        }
        found
    }

    /// Selected keys that reach the container only through `envFrom`: (env name, field, source).
    fn env_from_entries(
        &self,
        c: &Value,
        at: &Place,
        report: &mut Report,
    ) -> Vec<(String, String, Moved)> {
        let explicit: BTreeSet<&str> = crate::workload::items(c, "/env")
            .filter_map(|e| e.get("name").and_then(Value::as_str))
            .collect();
        let sources: Vec<(ObjectRef, String)> = env_from_sources(c)
            .into_iter()
            .map(|(source, _)| source)
            .collect();
        let mut out: Vec<(String, String, Moved)> = Vec::new();
        for (i, (target, prefix)) in sources.iter().enumerate() {
            let Some(obj) = self.objects.get(target) else {
                continue;
            };
            for key in &obj.keys {
                let Some(s) = self.selection.of_source(target, key) else {
                    continue;
                };
                let name = format!("{prefix}{key}");
                if explicit.contains(name.as_str()) || out.iter().any(|(n, _, _)| *n == name) {
                    continue;
                }
                // Among envFrom sources the last one wins: a later source that holds the name,
                // or may hold it, decides the value.
                match env_from_fate(self.objects, &name, &sources[i + 1..]) {
                    EnvFromFate::Shadowed => {}
                    EnvFromFate::MaybeShadowed(t) => report
                        .warnings
                        .push(left_through_env_from(at, key, target, &name, t)),
                    EnvFromFate::Reaches => {
                        out.push((name, s.field.clone(), (target.clone(), key.clone())));
                    }
                }
            }
        }
        out
    }

    fn rewrite_entry(
        &mut self,
        c: &mut Value,
        index: usize,
        carrier: &Carrier,
        context: &str,
        at: &Place,
        report: &mut Report,
    ) {
        let entry = &mut c["env"][index];
        let env_name = entry["name"].as_str().unwrap_or("").to_string();
        let new_entry = self.wiring.entry(context, &env_name, &carrier.field);
        if *entry == new_entry {
            return;
        }
        self.changed = true;
        let before = EnvSource::of(entry).describe();
        if let Some(from) = &carrier.from {
            self.found.moved.insert(from.clone());
        }
        let snapshot = new_entry.clone();
        *entry = new_entry;
        self.record(
            at,
            &env_name,
            &carrier.field,
            carrier.because,
            &before,
            &snapshot,
            report,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        at: &Place,
        env: &str,
        field: &str,
        because: Because,
        before: &str,
        new_entry: &Value,
        report: &mut Report,
    ) {
        if report.brief {
            return;
        }
        let after = match (
            EnvSource::of(new_entry),
            new_entry.get("value").and_then(Value::as_str),
        ) {
            (EnvSource::Literal, Some(path)) => format!("file {path}"),
            (source, _) => source.describe(),
        };
        report.env_changes.push(EnvChange {
            at: at.object(),
            container: at.container.clone().unwrap_or_default(),
            env: env.to_string(),
            key: field.to_string(),
            because: because.describe().to_string(),
            before: before.to_string(),
            after,
        });
    }
}

/// A literal's text as Kubernetes would read it (a number or a bool the chart left unquoted).
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Selected secrets that no targeted env entry carries.
pub fn uncarried_warnings(selection: &Selection, carried: &BTreeSet<String>, report: &mut Report) {
    for s in &selection.selected {
        if !carried.contains(&s.field) {
            report.warnings.push(format!(
                "key {} is not carried by any env entry of the targeted workloads",
                if s.field == s.key {
                    s.key.clone()
                } else {
                    format!("{} (field {})", s.key, s.field)
                }
            ));
        }
    }
}

/// Fields some targeted entry of the stream already carries the mode's way (a second run): a
/// literal named like such a key is then not the only carrier, as if read by reference.
pub fn wired_fields(
    docs: &[Document<'_>],
    targets: &Targets,
    wiring: &dyn Wiring,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for doc in docs {
        for obj in doc.value.iter().flat_map(crate::workload::objects) {
            let Some(pod) = crate::workload::pod_template(obj).filter(|_| selected(targets, obj))
            else {
                continue;
            };
            let context = wiring.pod_context(pod);
            for list in CONTAINER_LISTS {
                for c in crate::workload::items(pod, &format!("/spec/{list}"))
                    .filter(|c| crate::workload::container_selected(targets, c))
                {
                    out.extend(
                        crate::workload::items(c, "/env")
                            .filter_map(|e| wiring.wired_field(&context, e)),
                    );
                }
            }
        }
    }
    out
}
