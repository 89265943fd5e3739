//! Workloads: where pod templates live in every kind, their containers and env entries, and
//! which configuration key an env entry carries.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::config::Targets;

/// Path from an object to its pod template (`metadata` + `spec`), per kind. A Pod is its own
/// template. Kinds not listed here carry no pod.
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "Rollout" => {
            Some(&["spec", "template"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        "Pod" => Some(&[]),
        _ => None,
    }
}

/// Kinds whose documents vaultwire must read; every other kind passes through unparsed.
pub fn kind_needs_reading(kind: &str) -> bool {
    pod_template_path(kind).is_some() || matches!(kind, "List" | "Secret" | "ConfigMap")
}

pub fn kind_of(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}

pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The objects of a document: the document itself, or the items of a `kind: List`.
pub fn objects_mut(doc: &mut Value) -> Vec<&mut Value> {
    if kind_of(doc) == "List" {
        match doc.get_mut("items").and_then(Value::as_array_mut) {
            Some(items) => items.iter_mut().collect(),
            None => Vec::new(),
        }
    } else {
        vec![doc]
    }
}

pub fn objects(doc: &Value) -> Vec<&Value> {
    if kind_of(doc) == "List" {
        doc.get("items")
            .and_then(Value::as_array)
            .map(|items| items.iter().collect())
            .unwrap_or_default()
    } else {
        vec![doc]
    }
}

pub fn pod_template_mut(obj: &mut Value) -> Option<&mut Value> {
    let path = pod_template_path(kind_of(obj))?;
    let mut node = obj;
    for step in path {
        node = node.get_mut(*step)?;
    }
    node.is_object().then_some(node)
}

pub fn pod_template(obj: &Value) -> Option<&Value> {
    let path = pod_template_path(kind_of(obj))?;
    let mut node = obj;
    for step in path {
        node = node.get(*step)?;
    }
    node.is_object().then_some(node)
}

/// Pods that must run to completion: with an injector sidecar they would never finish.
pub fn runs_to_completion(obj: &Value) -> bool {
    let hook = obj.pointer("/metadata/annotations/helm.sh~1hook").is_some();
    let restart = obj
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always");
    hook || matches!(kind_of(obj), "Job" | "CronJob")
        || (kind_of(obj) == "Pod" && restart != "Always")
}

/// Container lists of a pod spec that carry env: init containers first, as they run first.
pub const CONTAINER_LISTS: [&str; 2] = ["initContainers", "containers"];

/// The elements of the array at a JSON pointer; none when it is missing or not an array.
pub fn items<'a>(v: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The targeted containers of a pod template, with their list and index.
pub fn targeted_containers<'a>(
    pod: &'a Value,
    targets: &'a Targets,
) -> impl Iterator<Item = (&'static str, usize, &'a Value)> {
    CONTAINER_LISTS
        .into_iter()
        .flat_map(move |list| {
            items(pod, &format!("/spec/{list}"))
                .enumerate()
                .map(move |(i, c)| (list, i, c))
        })
        .filter(|(_, _, c)| container_selected(targets, c))
}

/// Does the target filter select this object (kinds, name globs, labels)?
pub fn selected(targets: &Targets, obj: &Value) -> bool {
    let kind = kind_of(obj);
    let name = name_of(obj);
    if !targets.kinds.is_empty() && !targets.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
        return false;
    }
    if !targets.names.is_empty() && !targets.names.iter().any(|g| glob_match(g, name)) {
        return false;
    }
    targets.labels.iter().all(|(k, v)| {
        obj.get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

pub fn container_selected(targets: &Targets, container: &Value) -> bool {
    let name = container.get("name").and_then(Value::as_str).unwrap_or("");
    targets.containers.is_empty() || targets.containers.iter().any(|c| c == name)
}

/// `*` matches any run, `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Where an env entry takes its value from today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    Literal,
    SecretKey {
        name: String,
        key: String,
    },
    ConfigMapKey {
        name: String,
        key: String,
    },
    /// fieldRef, resourceFieldRef, or anything else vaultwire leaves alone.
    Other,
}

impl EnvSource {
    pub fn of(entry: &Value) -> EnvSource {
        let Some(from) = entry.get("valueFrom") else {
            return EnvSource::Literal;
        };
        for (field, secret) in [("secretKeyRef", true), ("configMapKeyRef", false)] {
            if let Some(r) = from.get(field) {
                let name = r
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let key = r
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                return if secret {
                    EnvSource::SecretKey { name, key }
                } else {
                    EnvSource::ConfigMapKey { name, key }
                };
            }
        }
        EnvSource::Other
    }

    /// The object and key it reads, if any.
    pub fn object_key(&self) -> Option<(ObjectRef, &str)> {
        match self {
            EnvSource::SecretKey { name, key } => Some((ObjectRef::secret(name), key)),
            EnvSource::ConfigMapKey { name, key } => Some((ObjectRef::config_map(name), key)),
            _ => None,
        }
    }

    /// How the explain output names it; never the literal value.
    pub fn describe(&self) -> String {
        match self {
            EnvSource::Literal => "literal value".to_string(),
            EnvSource::SecretKey { name, key } => format!("secretKeyRef {name}/{key}"),
            EnvSource::ConfigMapKey { name, key } => format!("configMapKeyRef {name}/{key}"),
            EnvSource::Other => "other valueFrom".to_string(),
        }
    }
}

/// A Secret or ConfigMap by kind and name (namespaces are the release's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub kind: &'static str,
    pub name: String,
}

impl ObjectRef {
    pub fn secret(name: &str) -> Self {
        ObjectRef {
            kind: "Secret",
            name: name.to_string(),
        }
    }
    pub fn config_map(name: &str) -> Self {
        ObjectRef {
            kind: "ConfigMap",
            name: name.to_string(),
        }
    }
    /// The object an `envFrom` source names.
    pub fn of_env_from(from: &Value) -> Option<Self> {
        let name = |p: &str| from.pointer(p).and_then(Value::as_str);
        name("/secretRef/name")
            .map(ObjectRef::secret)
            .or_else(|| name("/configMapRef/name").map(ObjectRef::config_map))
    }

    pub fn of(obj: &Value) -> Option<Self> {
        match kind_of(obj) {
            "Secret" => Some(ObjectRef::secret(name_of(obj))),
            "ConfigMap" => Some(ObjectRef::config_map(name_of(obj))),
            _ => None,
        }
    }
}

/// The configured keys and aliases.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// In configuration order.
    pub keys: Vec<String>,
    lookup: BTreeSet<String>,
    /// env name → key
    aliases: BTreeMap<String, String>,
}

/// Why an env entry carries its key; shown by `--explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// Its `secretKeyRef`/`configMapKeyRef` reads the key (aliases such as `CLICKHOUSE_PASSWORD`).
    ByReference,
    /// Its value is already the injector file of the key.
    ByFile,
    ByName,
    ByAlias,
}

impl Carried {
    pub fn describe(self) -> &'static str {
        match self {
            Carried::ByReference => "its keyRef reads it",
            Carried::ByFile => "its value is the key's injector file",
            Carried::ByName => "its name is the key",
            Carried::ByAlias => "configured alias",
        }
    }
}

impl KeySet {
    pub fn new(keys: Vec<String>, aliases: BTreeMap<String, String>) -> Self {
        let mut seen = BTreeSet::new();
        let keys: Vec<String> = keys
            .into_iter()
            .filter(|k| seen.insert(k.clone()))
            .collect();
        KeySet {
            lookup: seen,
            keys,
            aliases,
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.lookup.contains(key)
    }

    /// The key an env entry carries: the key it reads first (that is the value it holds), then
    /// the key whose injector file it already points to (`<files_dir>/KEY`, so a second run
    /// changes nothing), then a configured alias, then its name.
    pub fn carried(&self, entry: &Value, files_dir: Option<&str>) -> Option<(String, Carried)> {
        let source = EnvSource::of(entry);
        if let Some((_, key)) = source.object_key() {
            if self.contains(key) {
                return Some((key.to_string(), Carried::ByReference));
            }
        }
        if let (EnvSource::Literal, Some(dir)) = (&source, files_dir) {
            let file = entry
                .get("value")
                .and_then(Value::as_str)
                .and_then(|v| v.strip_prefix(dir))
                .and_then(|v| v.strip_prefix('/'));
            if let Some(key) = file.filter(|k| self.contains(k)) {
                return Some((key.to_string(), Carried::ByFile));
            }
        }
        let name = entry.get("name").and_then(Value::as_str)?;
        if let Some(key) = self.aliases.get(name).filter(|k| self.contains(k)) {
            return Some((key.clone(), Carried::ByAlias));
        }
        self.contains(name)
            .then(|| (name.to_string(), Carried::ByName))
    }
}

fn optional(reference: &Value) -> bool {
    reference.get("optional").and_then(Value::as_bool) == Some(true)
}

/// What a pod spec reads from Secrets and ConfigMaps.
#[derive(Debug, Default, Clone)]
pub struct References {
    /// Single keys (env keyRefs, volume items).
    pub keys: BTreeSet<(ObjectRef, String)>,
    /// Whole objects (envFrom, volumes without items, imagePullSecrets).
    pub whole: BTreeSet<ObjectRef>,
    /// The single keys a pod cannot start without (not `optional`), in stream order, once each.
    pub required: Vec<(ObjectRef, String)>,
}

impl References {
    pub fn add_pod_spec(&mut self, spec: &Value) {
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for c in items(spec, &format!("/{list}")) {
                for e in items(c, "/env") {
                    if let Some((obj, key)) = EnvSource::of(e).object_key() {
                        let optional = ["secretKeyRef", "configMapKeyRef"]
                            .iter()
                            .any(|r| optional(&e["valueFrom"][r]));
                        self.add_key(obj, key, optional);
                    }
                }
                self.whole
                    .extend(items(c, "/envFrom").filter_map(ObjectRef::of_env_from));
            }
        }
        for s in items(spec, "/imagePullSecrets") {
            if let Some(n) = s.get("name").and_then(Value::as_str) {
                self.whole.insert(ObjectRef::secret(n));
            }
        }
        for v in items(spec, "/volumes") {
            self.add_volume_source(v.get("secret"), "secretName", true);
            self.add_volume_source(v.get("configMap"), "name", false);
            for p in items(v, "/projected/sources") {
                self.add_volume_source(p.get("secret"), "name", true);
                self.add_volume_source(p.get("configMap"), "name", false);
            }
        }
    }

    fn add_volume_source(&mut self, source: Option<&Value>, name_field: &str, secret: bool) {
        let Some(source) = source else { return };
        let Some(name) = source.get(name_field).and_then(Value::as_str) else {
            return;
        };
        let obj = if secret {
            ObjectRef::secret(name)
        } else {
            ObjectRef::config_map(name)
        };
        match source.get("items").and_then(Value::as_array) {
            Some(items) if !items.is_empty() => {
                for it in items {
                    if let Some(k) = it.get("key").and_then(Value::as_str) {
                        self.add_key(obj.clone(), k, optional(source));
                    }
                }
            }
            _ => {
                self.whole.insert(obj);
            }
        }
    }

    fn add_key(&mut self, obj: ObjectRef, key: &str, optional: bool) {
        let read = (obj, key.to_string());
        if !optional && !self.required.contains(&read) {
            self.required.push(read.clone());
        }
        self.keys.insert(read);
    }

    /// The keys of `secret` a pod cannot start without, in stream order.
    pub fn required_keys_of<'r>(&'r self, secret: &'r ObjectRef) -> impl Iterator<Item = &'r str> {
        self.required
            .iter()
            .filter(move |(o, _)| o == secret)
            .map(|(_, k)| k.as_str())
    }

    pub fn reads(&self, obj: &ObjectRef, key: &str) -> bool {
        self.whole.contains(obj) || self.keys.contains(&(obj.clone(), key.to_string()))
    }

    pub fn mentions(&self, obj: &ObjectRef) -> bool {
        self.whole.contains(obj) || self.keys.iter().any(|(o, _)| o == obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        assert!(glob_match("portkey-*", "portkey-gateway"));
        assert!(glob_match("*-gateway", "portkey-gateway"));
        assert!(glob_match("p?rtkey", "portkey"));
        assert!(!glob_match("redis*", "portkey-gateway"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn an_alias_carries_the_key_it_reads() {
        let keys = KeySet::new(vec!["ANALYTICS_STORE_PASSWORD".into()], BTreeMap::new());
        let entry = json!({"name": "CLICKHOUSE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "ANALYTICS_STORE_PASSWORD"}}});
        assert_eq!(
            keys.carried(&entry, None),
            Some(("ANALYTICS_STORE_PASSWORD".to_string(), Carried::ByReference))
        );
        let literal = json!({"name": "ANALYTICS_STORE_PASSWORD", "value": ""});
        assert_eq!(
            keys.carried(&literal, None).map(|c| c.1),
            Some(Carried::ByName)
        );
        let aliases = BTreeMap::from([(
            "DB_PASS".to_string(),
            "ANALYTICS_STORE_PASSWORD".to_string(),
        )]);
        let keys = KeySet::new(vec!["ANALYTICS_STORE_PASSWORD".into()], aliases);
        assert_eq!(
            keys.carried(&json!({"name": "DB_PASS", "value": "x"}), None)
                .map(|c| c.1),
            Some(Carried::ByAlias)
        );
        assert_eq!(
            keys.carried(&json!({"name": "OTHER", "value": "x"}), None),
            None
        );
    }

    #[test]
    fn cronjob_pod_template_is_found() {
        let mut cj = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}});
        assert!(pod_template_mut(&mut cj).is_some());
        assert!(runs_to_completion(&cj));
    }
}
