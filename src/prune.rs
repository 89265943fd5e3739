//! Plaintext the release no longer needs goes away: a key that vaultwire moved off a chart
//! Secret/ConfigMap and that nothing reads any more is removed from it, and an object left
//! empty and referenced nowhere is dropped.

use std::collections::BTreeSet;

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

/// What the pods of one document read, after their rewrite (gathered for [`plaintext`]).
pub fn pod_references(doc: &Document<'_>, refs: &mut References) {
    for obj in doc.value.iter().flat_map(objects) {
        if let Some(spec) = pod_template(obj).and_then(|pod| pod.get("spec")) {
            refs.add_pod_spec(spec);
        }
    }
}

/// `refs`: what every pod of the stream reads once rewritten ([`pod_references`]).
pub fn plaintext(
    docs: &mut [Document<'_>],
    moved: &BTreeSet<Moved>,
    refs: &References,
    report: &mut Report,
) {
    if moved.is_empty() {
        return;
    }
    let mut emptied: Vec<(usize, ObjectRef)> = Vec::new();
    for (i, doc) in docs.iter_mut().enumerate() {
        let base = doc.place();
        let is_list = doc.value.as_ref().is_some_and(|v| kind_of(v) == "List");
        let Some(value) = doc.value.as_mut() else {
            continue;
        };
        for obj in objects_mut(value) {
            let Some(target) = ObjectRef::of(obj) else {
                continue;
            };
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

/// Does any other document name it under a Secret- or ConfigMap-ish field (a ServiceAccount's
/// `secrets`, an Ingress' `secretName`, a `configMapRef`)? Documents vaultwire skipped are read
/// now; one that does not parse counts as a mention: when in doubt, the empty object stays.
fn named_elsewhere(docs: &[Document<'_>], skip: usize, name: &str) -> bool {
    docs.iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .any(|(_, d)| match &d.value {
            Some(v) => mentions(v, name, false),
            None if d.chunk.is_blank() || !d.text().contains(name) => false,
            None => crate::yaml::parse(&d.text()).map_or(true, |v| mentions(&v, name, false)),
        })
}

fn mentions(v: &Value, name: &str, under_reference: bool) -> bool {
    match v {
        Value::String(s) => under_reference && s == name,
        Value::Array(a) => a.iter().any(|x| mentions(x, name, under_reference)),
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| k.as_str() != "metadata")
            .any(|(k, x)| {
                let k = k.to_ascii_lowercase();
                mentions(
                    x,
                    name,
                    under_reference || k.contains("secret") || k.contains("configmap"),
                )
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_in_metadata_do_not_count() {
        let d = json!({"metadata": {"name": "cfg", "labels": {"app": "cfg"}}, "spec": {"serviceAccountName": "cfg"}});
        assert!(!mentions(&d, "cfg", false));
        let ing = json!({"spec": {"tls": [{"secretName": "cfg"}]}});
        assert!(mentions(&ing, "cfg", false));
        let sa = json!({"kind": "ServiceAccount", "secrets": [{"name": "cfg"}]});
        assert!(mentions(&sa, "cfg", false));
    }
}
