//! Plaintext the release no longer needs goes away: a key that vaultwire moved off a chart
//! Secret/ConfigMap and that nothing reads any more is removed from it, and an object left
//! empty and referenced nowhere is dropped.

use serde_json::Value;

use crate::document::{object_place, Document};
use crate::modes::Moved;
use crate::report::{Located, RemovedKey, Report};
use crate::workload::{kind_of, objects, objects_mut, pod_template, ObjectRef, References};

const DATA_FIELDS: [&str; 3] = ["data", "stringData", "binaryData"];

/// The keys a Secret or ConfigMap holds.
pub fn data_keys(obj: &Value) -> Vec<String> {
    DATA_FIELDS
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect()
}

pub fn plaintext(docs: &mut [Document<'_>], moved: &[Moved], report: &mut Report) {
    if moved.is_empty() {
        return;
    }
    let mut refs = References::default();
    for doc in docs.iter() {
        for obj in doc.value.iter().flat_map(objects) {
            if let Some(pod) = pod_template(obj) {
                if let Some(spec) = pod.get("spec") {
                    refs.add_pod_spec(spec);
                }
            }
        }
    }
    let mut emptied: Vec<(usize, ObjectRef)> = Vec::new();
    for (i, doc) in docs.iter_mut().enumerate() {
        let base = doc.place();
        let is_list = doc.value.as_ref().is_some_and(|v| kind_of(v) == "List");
        let Some(value) = doc.value.as_mut() else { continue };
        for obj in objects_mut(value) {
            let Some(target) = ObjectRef::of(obj) else { continue };
            let place = object_place(&base, obj);
            let mut removed_any = false;
            for m in moved.iter().filter(|m| m.from == target) {
                if refs.reads(&target, &m.key) {
                    continue;
                }
                for field in DATA_FIELDS {
                    if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
                        if map.shift_remove(&m.key).is_some() {
                            removed_any = true;
                            report.removed_keys.push(RemovedKey {
                                at: Located::from(&place),
                                key: m.key.clone(),
                            });
                        }
                    }
                }
            }
            if removed_any && !is_list && data_keys(obj).is_empty() && !refs.mentions(&target) {
                emptied.push((i, target));
            }
        }
    }
    for (i, target) in emptied {
        if !named_elsewhere(docs, i, &target.name) {
            let doc = &mut docs[i];
            doc.dropped = true;
            report.dropped_documents.push(Located::from(&doc.place()));
        }
    }
}

/// Is the name used by any other document outside metadata (a ServiceAccount's `secrets`, an
/// Ingress' `secretName`, an operator resource)? Documents vaultwire did not parse are searched
/// as text. When in doubt, the empty object stays.
fn named_elsewhere(docs: &[Document<'_>], skip: usize, name: &str) -> bool {
    docs.iter().enumerate().filter(|(i, _)| *i != skip).any(|(_, d)| match &d.value {
        Some(v) => mentions(v, name),
        None => d.chunk.body.contains(name),
    })
}

fn mentions(v: &Value, name: &str) -> bool {
    match v {
        Value::String(s) => s == name,
        Value::Array(a) => a.iter().any(|x| mentions(x, name)),
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "selector"))
            .any(|(_, x)| mentions(x, name)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_in_metadata_do_not_count() {
        let d = json!({"metadata": {"name": "cfg", "labels": {"app": "cfg"}}, "spec": {"x": 1}});
        assert!(!mentions(&d, "cfg"));
        let ing = json!({"spec": {"tls": [{"secretName": "cfg"}]}});
        assert!(mentions(&ing, "cfg"));
    }
}
