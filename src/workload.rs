//! Workloads: where pod templates live in every kind (a path table), their containers and env
//! entries, and which workloads the targets select.

use serde_json::Value;

use crate::config::Targets;
pub use crate::objects::ObjectRef;

/// Where pod templates live, kyaml's way: a table of paths, not a list of kinds, so that a
/// ReplicationController, an Argo Rollout or any CRD of the same shape is found too. The
/// template is the object at the path (`metadata` + `spec`) when its `spec.containers` is a list.
/// `[]`: the object is a pod itself (a Pod, or any kind shaped like one).
pub const POD_TEMPLATE_PATHS: [&[&str]; 4] = [
    &["spec", "template"],
    &["spec", "jobTemplate", "spec", "template"],
    &["template"],
    &[],
];

fn is_pod_template(node: &Value) -> bool {
    node.pointer("/spec/containers")
        .is_some_and(Value::is_array)
}

/// The path of an object's pod template, if it has one.
pub fn pod_template_path(obj: &Value) -> Option<&'static [&'static str]> {
    POD_TEMPLATE_PATHS.into_iter().find(|path| {
        let mut node = obj;
        for step in *path {
            match node.get(*step) {
                Some(n) => node = n,
                None => return false,
            }
        }
        is_pod_template(node)
    })
}

/// A text test before parsing: can this document hold a pod template?
pub fn text_may_hold_pods(body: &str) -> bool {
    body.contains("containers")
}

/// A `kind: List` or a typed list (`DeploymentList`, `SecretList`): objects under `items`.
pub fn is_list_kind(kind: &str) -> bool {
    kind.ends_with("List") && kind.len() >= 4
}

/// Kinds whose documents vaultwire reads for their data or their references; documents of
/// other kinds are read only when their text may hold a pod or names a chart object.
pub fn kind_needs_reading(kind: &str) -> bool {
    is_list_kind(kind)
        || matches!(
            kind,
            "Secret"
                | "ConfigMap"
                | "Ingress"
                | "ServiceAccount"
                | "Deployment"
                | "StatefulSet"
                | "DaemonSet"
                | "ReplicaSet"
                | "ReplicationController"
                | "Job"
                | "CronJob"
                | "Pod"
                | "Rollout"
        )
}

pub fn kind_of(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}

pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn list_items(doc: &Value) -> Option<&Vec<Value>> {
    is_list_kind(kind_of(doc))
        .then(|| doc.get("items").and_then(Value::as_array))
        .flatten()
}

/// The objects of a document: the document itself, or the items of a list, nested lists
/// included, depth first.
pub fn objects(doc: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    collect(doc, &mut out);
    out
}

fn collect<'a>(doc: &'a Value, out: &mut Vec<&'a Value>) {
    match list_items(doc) {
        Some(items) => items.iter().for_each(|item| collect(item, out)),
        None => out.push(doc),
    }
}

/// [`objects`], mutable, in the same order.
pub fn objects_mut(doc: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    collect_mut(doc, &mut out);
    out
}

fn collect_mut<'a>(doc: &'a mut Value, out: &mut Vec<&'a mut Value>) {
    if list_items(doc).is_some() {
        if let Some(items) = doc.get_mut("items").and_then(Value::as_array_mut) {
            items.iter_mut().for_each(|item| collect_mut(item, out));
        }
    } else {
        out.push(doc);
    }
}

pub fn pod_template_mut(obj: &mut Value) -> Option<&mut Value> {
    let path = pod_template_path(obj)?;
    let mut node = obj;
    for step in path {
        node = node.get_mut(*step)?;
    }
    Some(node)
}

pub fn pod_template(obj: &Value) -> Option<&Value> {
    let path = pod_template_path(obj)?;
    let mut node = obj;
    for step in path {
        node = node.get(*step)?;
    }
    Some(node)
}

/// Pods that must run to completion: with an injector sidecar they would never finish.
pub fn runs_to_completion(obj: &Value) -> bool {
    let hook = obj.pointer("/metadata/annotations/helm.sh~1hook").is_some();
    let restart = pod_template(obj)
        .and_then(|pod| pod.pointer("/spec/restartPolicy"))
        .and_then(Value::as_str)
        .unwrap_or("Always");
    hook || matches!(kind_of(obj), "Job" | "CronJob") || restart != "Always"
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
    fn cronjob_pod_template_is_found() {
        let mut cj = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
        assert!(pod_template_mut(&mut cj).is_some());
        assert!(runs_to_completion(&cj));
    }

    #[test]
    fn pod_templates_are_found_by_path_in_any_kind_and_list() {
        let rc = json!({"kind": "ReplicationController", "spec": {"template": {"spec": {"containers": []}}}});
        assert!(pod_template(&rc).is_some());
        assert!(!runs_to_completion(&rc));
        let pod = json!({"kind": "Pod", "spec": {"restartPolicy": "Never", "containers": []}});
        assert!(pod_template(&pod).is_some());
        assert!(runs_to_completion(&pod));
        assert!(pod_template(&json!({"kind": "Service", "spec": {}})).is_none());
        let nested = json!({"kind": "List", "items": [
            {"kind": "DeploymentList", "items": [rc.clone(), {"spec": {"template": {"spec": {"containers": []}}}}]},
            {"kind": "Secret"}
        ]});
        let found = objects(&nested);
        assert_eq!(found.len(), 3);
        assert_eq!(
            found.iter().filter(|o| pod_template(o).is_some()).count(),
            2
        );
    }
}
