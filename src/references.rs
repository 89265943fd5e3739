//! The reference index: every field of the stream that reads a Secret or ConfigMap, with the
//! object and the key it reads (or the whole object). Built in one scan before the rewrite;
//! the pod part is built again after it, so that pruning sees what is still read.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use serde_json::Value;

use crate::config::Targets;
use crate::error::Place;
use crate::objects::{ChartObjects, ObjectRef};
use crate::workload::{container_selected, items, kind_of};

/// What kind of field reads the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    /// An env entry's `secretKeyRef` / `configMapKeyRef`.
    Env {
        container: Rc<str>,
        env: Box<str>,
    },
    /// An `envFrom` source: every key, as `prefix` + key, except the names the container sets
    /// itself in `env` (an explicit entry wins).
    EnvFrom {
        container: Rc<str>,
        prefix: String,
        explicit: BTreeSet<String>,
        /// The container's `envFrom` sources after this one, with their prefixes: a later
        /// source that defines a name wins ([`env_from_fate`]).
        later: Vec<(ObjectRef, String)>,
    },
    /// A `secret` / `configMap` volume or projected source.
    Volume {
        volume: String,
    },
    ImagePullSecret,
    /// A field of another document (Ingress TLS, ServiceAccount, a CRD).
    Field {
        path: String,
    },
}

/// This document, at this field, reads key `key` of object `target` (`None`: all of it).
#[derive(Debug, Clone)]
pub struct Reference {
    /// Shared by every reference of one object: a chart has thousands of references.
    pub at: Rc<Place>,
    pub target: ObjectRef,
    pub key: Option<String>,
    pub reader: Reader,
    pub optional: bool,
    /// The reader is an env or envFrom of a container the targets select.
    pub targeted: bool,
}

impl Reference {
    /// Does this reference read `key` of its target?
    pub fn reads(&self, key: &str) -> bool {
        match (&self.key, &self.reader) {
            (Some(k), _) => k == key,
            (
                None,
                Reader::EnvFrom {
                    prefix, explicit, ..
                },
            ) => !explicit.contains(&format!("{prefix}{key}")),
            (None, _) => true,
        }
    }

    /// Where the reader is, for notes: never a value.
    pub fn describe(&self) -> String {
        let what = match &self.reader {
            Reader::Env { container, env } => format!("container '{container}': env '{env}'"),
            Reader::EnvFrom { container, .. } => format!("container '{container}': envFrom"),
            Reader::Volume { volume } => format!("volume '{volume}'"),
            Reader::ImagePullSecret => "imagePullSecrets".to_string(),
            Reader::Field { path } => format!("field {path}"),
        };
        format!("{}: {what}", self.at)
    }
}

/// Every reference of the stream, indexed by the object read.
#[derive(Debug, Default)]
pub struct References {
    /// When set, pod references to other objects are not kept (after the rewrite, pruning
    /// asks only about the chart's own objects and the synced Secret).
    relevant: Option<HashSet<ObjectRef>>,
    pods: Vec<Reference>,
    others: Vec<Reference>,
    by_target: HashMap<ObjectRef, Vec<(bool, usize)>>,
}

fn optional(reference: &Value) -> bool {
    reference.get("optional").and_then(Value::as_bool) == Some(true)
}

impl References {
    /// The references of one pod template (`metadata` + `spec`).
    /// `targets`: the object's targets when the object is selected, else `None`.
    pub fn add_pod(&mut self, at: &Place, pod: &Value, targets: Option<&Targets>) {
        let Some(spec) = pod.get("spec") else { return };
        let at = &Rc::new(at.clone());
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for c in items(spec, &format!("/{list}")) {
                let container = c.get("name").and_then(Value::as_str).unwrap_or("");
                let targeted = list != "ephemeralContainers"
                    && targets.is_some_and(|t| container_selected(t, c));
                let container: Rc<str> = Rc::from(container);
                for e in items(c, "/env") {
                    let Some(from) = e.get("valueFrom") else {
                        continue;
                    };
                    for (field, secret) in [("secretKeyRef", true), ("configMapKeyRef", false)] {
                        let Some(r) = from.get(field) else { continue };
                        let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
                        let target = if secret {
                            ObjectRef::secret(text("name"))
                        } else {
                            ObjectRef::config_map(text("name"))
                        };
                        self.push_pod(Reference {
                            at: at.clone(),
                            target,
                            key: Some(text("key").to_string()),
                            reader: Reader::Env {
                                container: container.clone(),
                                env: e.get("name").and_then(Value::as_str).unwrap_or("").into(),
                            },
                            optional: optional(r),
                            targeted,
                        });
                        break;
                    }
                }
                // The names the container sets itself win over envFrom: needed only with envFrom.
                let explicit: BTreeSet<String> = if c.get("envFrom").is_some() {
                    items(c, "/env")
                        .filter_map(|e| e.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                } else {
                    BTreeSet::new()
                };
                let sources = env_from_sources(c);
                for (i, ((target, prefix), from)) in sources.iter().enumerate() {
                    let optional = optional(&from["secretRef"]) || optional(&from["configMapRef"]);
                    self.push_pod(Reference {
                        at: at.clone(),
                        target: target.clone(),
                        key: None,
                        reader: Reader::EnvFrom {
                            container: container.clone(),
                            prefix: prefix.clone(),
                            explicit: explicit.clone(),
                            later: sources[i + 1..].iter().map(|(s, _)| s.clone()).collect(),
                        },
                        optional,
                        targeted,
                    });
                }
            }
        }
        for s in items(spec, "/imagePullSecrets") {
            if let Some(n) = s.get("name").and_then(Value::as_str) {
                self.push_pod(Reference {
                    at: at.clone(),
                    target: ObjectRef::secret(n),
                    key: None,
                    reader: Reader::ImagePullSecret,
                    optional: false,
                    targeted: false,
                });
            }
        }
        for v in items(spec, "/volumes") {
            let volume = v.get("name").and_then(Value::as_str).unwrap_or("");
            let mut sources = vec![
                (v.get("secret"), "secretName", true),
                (v.get("configMap"), "name", false),
            ];
            for p in items(v, "/projected/sources") {
                sources.push((p.get("secret"), "name", true));
                sources.push((p.get("configMap"), "name", false));
            }
            for (source, name_field, secret) in sources {
                self.add_volume_source(at, volume, source, name_field, secret);
            }
        }
    }

    fn add_volume_source(
        &mut self,
        at: &Rc<Place>,
        volume: &str,
        source: Option<&Value>,
        name_field: &str,
        secret: bool,
    ) {
        let Some(source) = source else { return };
        let Some(name) = source.get(name_field).and_then(Value::as_str) else {
            return;
        };
        let target = if secret {
            ObjectRef::secret(name)
        } else {
            ObjectRef::config_map(name)
        };
        let keys: Vec<Option<String>> = match source.get("items").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => list
                .iter()
                .filter_map(|it| it.get("key").and_then(Value::as_str))
                .map(|k| Some(k.to_string()))
                .collect(),
            _ => vec![None],
        };
        for key in keys {
            self.push_pod(Reference {
                at: at.clone(),
                target: target.clone(),
                key,
                reader: Reader::Volume {
                    volume: volume.to_string(),
                },
                optional: optional(source),
                targeted: false,
            });
        }
    }

    /// The references of a document that holds no pod: Ingress TLS and ServiceAccount fields
    /// by name, and for every other kind any string field equal to a chart object's name (to
    /// key K when the same mapping says `key: K`). Kinds that read no Secret are skipped.
    pub fn add_document(&mut self, at: &Place, obj: &Value, objects: &ChartObjects) {
        if reads_nothing(kind_of(obj)) {
            return;
        }
        let mut found = Vec::new();
        match kind_of(obj) {
            // Known kinds are read exactly: an Ingress backend or a ServiceAccount's own name
            // often equals a Secret's name without reading it.
            "Ingress" => {
                for (i, t) in items(obj, "/spec/tls").enumerate() {
                    if let Some(n) = t.get("secretName").and_then(Value::as_str) {
                        found.push((format!("spec.tls[{i}].secretName"), n.to_string(), None));
                    }
                }
            }
            "ServiceAccount" => {
                for list in ["secrets", "imagePullSecrets"] {
                    for (i, t) in items(obj, &format!("/{list}")).enumerate() {
                        if let Some(n) = t.get("name").and_then(Value::as_str) {
                            found.push((format!("{list}[{i}].name"), n.to_string(), None));
                        }
                    }
                }
            }
            _ => self.walk_document(obj, objects, &mut found),
        }
        self.push_found(at, found, objects);
    }

    fn walk_document(
        &self,
        obj: &Value,
        objects: &ChartObjects,
        found: &mut Vec<(String, String, Option<String>)>,
    ) {
        match obj.as_object() {
            Some(map) => {
                for (k, v) in map {
                    if k == "metadata" {
                        if let Some(a) = v.get("annotations") {
                            walk(a, "metadata.annotations", objects, found);
                        }
                    } else if !matches!(k.as_str(), "kind" | "apiVersion") {
                        walk(v, k, objects, found);
                    }
                }
            }
            None => walk(obj, "", objects, found),
        }
    }

    fn push_found(
        &mut self,
        at: &Place,
        found: Vec<(String, String, Option<String>)>,
        objects: &ChartObjects,
    ) {
        let at = &Rc::new(at.clone());
        for (path, name, key) in found {
            for target in objects.named(&name).collect::<Vec<_>>() {
                self.others.push(Reference {
                    at: at.clone(),
                    target: target.clone(),
                    key: key.clone(),
                    reader: Reader::Field { path: path.clone() },
                    optional: false,
                    targeted: false,
                });
                let i = self.others.len() - 1;
                self.by_target.entry(target).or_default().push((false, i));
            }
        }
    }

    /// A document that did not parse but whose text names chart objects: each counts as read
    /// whole (when in doubt, plaintext stays).
    pub fn add_unreadable(&mut self, at: &Place, names: &[String], objects: &ChartObjects) {
        let at = &Rc::new(at.clone());
        for name in names {
            for target in objects.named(name).collect::<Vec<_>>() {
                self.others.push(Reference {
                    at: at.clone(),
                    target: target.clone(),
                    key: None,
                    reader: Reader::Field {
                        path: "(a document that does not parse)".into(),
                    },
                    optional: false,
                    targeted: false,
                });
                let i = self.others.len() - 1;
                self.by_target.entry(target).or_default().push((false, i));
            }
        }
    }

    /// Keep pod references to these objects only, from now on.
    pub fn only(&mut self, relevant: HashSet<ObjectRef>) {
        self.relevant = Some(relevant);
    }

    fn push_pod(&mut self, r: Reference) {
        if self
            .relevant
            .as_ref()
            .is_some_and(|set| !set.contains(&r.target))
        {
            return;
        }
        self.by_target
            .entry(r.target.clone())
            .or_default()
            .push((true, self.pods.len()));
        self.pods.push(r);
    }

    /// Forgets the pod references, to build them again from rewritten pods.
    pub fn clear_pods(&mut self) {
        self.pods.clear();
        for list in self.by_target.values_mut() {
            list.retain(|(pod, _)| !pod);
        }
    }

    fn get(&self, (pod, i): (bool, usize)) -> &Reference {
        if pod {
            &self.pods[i]
        } else {
            &self.others[i]
        }
    }

    /// Every reference to `target`, in stream order of its kind (pods first).
    pub fn to(&self, target: &ObjectRef) -> impl Iterator<Item = &Reference> {
        self.by_target
            .get(target)
            .into_iter()
            .flatten()
            .map(|at| self.get(*at))
    }

    /// The references that read `key` of `target`.
    pub fn readers<'r>(
        &'r self,
        target: &ObjectRef,
        key: &'r str,
    ) -> impl Iterator<Item = &'r Reference> {
        self.to(target).filter(move |r| r.reads(key))
    }

    pub fn pod_references(&self) -> &[Reference] {
        &self.pods
    }

    /// The single keys of `secret` that a pod cannot start without, in stream order, once each.
    pub fn required_keys_of(&self, secret: &ObjectRef) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for r in self.to(secret).filter(|r| !r.optional) {
            if let (Some(k), Reader::Env { .. } | Reader::Volume { .. }) = (&r.key, &r.reader) {
                if seen.insert(k.as_str()) {
                    out.push(k.clone());
                }
            }
        }
        out
    }
}

/// A container's `envFrom` sources that name an object, in order: `((object, prefix), item)`.
pub fn env_from_sources(c: &Value) -> Vec<((ObjectRef, String), &Value)> {
    items(c, "/envFrom")
        .filter_map(|f| {
            let prefix = f.get("prefix").and_then(Value::as_str).unwrap_or("");
            ObjectRef::of_env_from(f).map(|r| ((r, prefix.to_string()), f))
        })
        .collect()
}

/// What becomes of variable `name` that an `envFrom` source defines, given the container's
/// `envFrom` sources after it (Kubernetes: `env` entries win over `envFrom`, and among `envFrom`
/// sources the last one that defines a name wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFromFate<'a> {
    /// The source's value reaches the container (unless an `env` entry sets the name).
    Reaches,
    /// A later source in the stream holds the name: its value wins.
    Shadowed,
    /// A later source outside the stream may define the name: what the container gets is not
    /// known, so vaultwire leaves the variable as it is.
    MaybeShadowed(&'a ObjectRef),
}

pub fn env_from_fate<'a>(
    objects: &ChartObjects,
    name: &str,
    later: &'a [(ObjectRef, String)],
) -> EnvFromFate<'a> {
    let holds = |(t, p): &(ObjectRef, String)| {
        name.strip_prefix(p.as_str())
            .is_some_and(|k| objects.get(t).is_some_and(|o| o.holds(k)))
    };
    if later.iter().any(holds) {
        return EnvFromFate::Shadowed;
    }
    match later.iter().find(|(t, _)| !objects.renders(t)) {
        Some((t, _)) => EnvFromFate::MaybeShadowed(t),
        None => EnvFromFate::Reaches,
    }
}

/// The warning for a variable that reaches a container through `envFrom` and stays as it is
/// ([`EnvFromFate::MaybeShadowed`]); `at` names the container.
pub fn left_through_env_from(
    at: &Place,
    key: &str,
    source: &ObjectRef,
    name: &str,
    later: &ObjectRef,
) -> String {
    format!(
        "{at}: key {key} of {source} reaches it through envFrom as {name}, but the later envFrom source {later} is not rendered in this stream and may set {name} too; left as it is"
    )
}

/// Kinds that never name a Secret or ConfigMap: not scanned.
fn reads_nothing(kind: &str) -> bool {
    matches!(
        kind,
        "Service"
            | "PodDisruptionBudget"
            | "HorizontalPodAutoscaler"
            | "NetworkPolicy"
            | "PersistentVolumeClaim"
            | "Namespace"
            | "PriorityClass"
            | "LimitRange"
            | "ResourceQuota"
            | "CustomResourceDefinition"
            | "Secret"
            | "ConfigMap"
    )
}

/// String fields equal to a chart object's name: (path, name, key of the same mapping).
fn walk(
    v: &Value,
    path: &str,
    objects: &ChartObjects,
    found: &mut Vec<(String, String, Option<String>)>,
) {
    match v {
        Value::String(s) if objects.named(s).next().is_some() => {
            found.push((path.to_string(), s.clone(), None));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, &format!("{path}[{i}]"), objects, found);
            }
        }
        Value::Object(m) => {
            let key = m.get("key").and_then(Value::as_str).map(str::to_string);
            // Labels and selectors name workloads, never Secrets.
            for (k, x) in m
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "labels" | "selector" | "matchLabels"))
            {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match x {
                    Value::String(s) if k != "key" && objects.named(s).next().is_some() => {
                        found.push((p, s.clone(), key.clone()));
                    }
                    _ => walk(x, &p, objects, found),
                }
            }
        }
        _ => {}
    }
}

/// The chart object names, searched for in the text of documents vaultwire does not otherwise
/// read, in one linear pass per document: a few names by SIMD substring search, many by hashing
/// the words whose length a name has (most words are rejected by their length alone).
pub struct NameFinder {
    names: Vec<String>,
    finders: Vec<memchr::memmem::Finder<'static>>,
    set: HashSet<String>,
    lengths: [bool; 256],
}

impl NameFinder {
    const FEW: usize = 16;

    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
        names.sort();
        names.dedup();
        let mut lengths = [false; 256];
        for n in &names {
            lengths[n.len().min(255)] = true;
        }
        let few = names.len() <= Self::FEW;
        NameFinder {
            finders: if few {
                names
                    .iter()
                    .map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned())
                    .collect()
            } else {
                Vec::new()
            },
            set: if few {
                HashSet::new()
            } else {
                names.iter().cloned().collect()
            },
            names,
            lengths,
        }
    }

    /// The names `body` holds as words (a name inside a longer word does not count).
    pub fn in_text(&self, body: &str) -> Vec<String> {
        let is_word = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_');
        let bytes = body.as_bytes();
        if self.names.len() <= Self::FEW {
            return self
                .names
                .iter()
                .zip(&self.finders)
                .filter(|(name, finder)| {
                    finder.find_iter(bytes).any(|at| {
                        let end = at + name.len();
                        (at == 0 || !is_word(bytes[at - 1]))
                            && (end == bytes.len() || !is_word(bytes[end]))
                    })
                })
                .map(|(name, _)| name.clone())
                .collect();
        }
        let mut found: Vec<String> = Vec::new();
        for word in
            body.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            let word = word.trim_end_matches('.');
            if self.lengths[word.len().min(255)]
                && self.set.contains(word)
                && !found.iter().any(|f| f == word)
            {
                found.push(word.to_string());
            }
        }
        found.sort();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> ChartObjects {
        let mut o = ChartObjects::default();
        o.add(
            &json!({"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "cA=="}}),
            Place::default(),
        );
        o
    }

    #[test]
    fn a_crd_field_naming_an_object_is_a_reference_with_its_key() {
        let mut refs = References::default();
        let keda = json!({"kind": "TriggerAuthentication", "metadata": {"name": "db"},
            "spec": {"secretTargetRef": [{"parameter": "pw", "name": "db", "key": "password"}]}});
        refs.add_document(&Place::default(), &keda, &objects());
        let found: Vec<_> = refs.to(&ObjectRef::secret("db")).collect();
        assert_eq!(found.len(), 1, "metadata.name is not a reference");
        assert_eq!(found[0].key.as_deref(), Some("password"));
        assert!(
            matches!(&found[0].reader, Reader::Field { path } if path == "spec.secretTargetRef[0].name")
        );
        let widget = json!({"kind": "Widget", "spec": {"credentialsSecret": "db"}});
        refs.add_document(&Place::default(), &widget, &objects());
        assert!(refs
            .readers(&ObjectRef::secret("db"), "anything")
            .any(|r| r.key.is_none()));
        let service = json!({"kind": "Service", "spec": {"selector": {"app": "db"}}});
        let mut none = References::default();
        none.add_document(&Place::default(), &service, &objects());
        assert_eq!(none.to(&ObjectRef::secret("db")).count(), 0);
    }

    #[test]
    fn env_from_reads_every_key_but_the_overridden_ones() {
        let mut refs = References::default();
        let pod = json!({"spec": {"containers": [{"name": "app",
            "env": [{"name": "APP_password", "value": "x"}],
            "envFrom": [{"prefix": "APP_", "secretRef": {"name": "db"}}]}]}});
        refs.add_pod(&Place::default(), &pod, Some(&Targets::default()));
        let db = ObjectRef::secret("db");
        assert_eq!(refs.readers(&db, "password").count(), 0);
        assert_eq!(refs.readers(&db, "user").count(), 1);
    }

    #[test]
    fn names_are_found_as_words() {
        let names = NameFinder::new(["db", "app-db"]);
        assert_eq!(names.in_text("a: app-db\nb: dbx\n"), vec!["app-db"]);
        assert_eq!(names.in_text("c: db.\n"), vec!["db"]);
        let many: Vec<String> = (0..8000).map(|i| format!("obj-{i}")).collect();
        let many = NameFinder::new(many.iter().map(String::as_str).chain(["app-db"]));
        assert_eq!(
            many.in_text("a: app-db\nb: obj-7x obj-39\n"),
            vec!["app-db", "obj-39"]
        );
    }
}
