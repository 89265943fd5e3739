//! The one scan that gathers the stream-wide facts before any transform: the chart objects and
//! their plaintext, the reference index, and (for full mode) the literal secrets.

use serde_json::Value;

use crate::config::Targets;
use crate::document::{object_place, Document};
use crate::error::Place;
use crate::objects::ChartObjects;
use crate::references::{NameFinder, References};
use crate::selection::{looks_secret, secret_like_value, Literal};
use crate::workload::{
    container_selected, items, objects, pod_template, selected, CONTAINER_LISTS,
};

pub struct Facts {
    pub objects: ChartObjects,
    pub refs: References,
}

pub fn scan(docs: &[Document<'_>], targets: &Targets) -> Facts {
    let mut objects = ChartObjects::default();
    for doc in docs {
        let base = doc.place();
        for obj in doc.value.iter().flat_map(crate::workload::objects) {
            objects.add(obj, object_place(&base, obj));
        }
    }
    let mut refs = References::default();
    pod_references(docs, targets, &mut refs);
    let names = NameFinder::new(objects.names());
    for doc in docs {
        let base = doc.place();
        match &doc.value {
            Some(value) => {
                for obj in crate::workload::objects(value) {
                    if pod_template(obj).is_none() {
                        refs.add_document(&object_place(&base, obj), obj, &objects);
                    }
                }
            }
            None if doc.chunk.is_blank() => {}
            None => {
                let found = names.in_text(doc.chunk.body);
                if found.is_empty() {
                    continue;
                }
                match crate::yaml::parse(doc.chunk.body) {
                    Ok(value) => {
                        let base = Place {
                            kind: crate::workload::kind_of(&value).to_string(),
                            name: crate::workload::name_of(&value).to_string(),
                            ..base
                        };
                        for obj in crate::workload::objects(&value) {
                            refs.add_document(&object_place(&base, obj), obj, &objects);
                        }
                    }
                    Err(_) => refs.add_unreadable(&base, &found, &objects),
                }
            }
        }
    }
    Facts { objects, refs }
}

/// The pod references of every document (again after the rewrite, for pruning).
pub fn pod_references(docs: &[Document<'_>], targets: &Targets, refs: &mut References) {
    refs.clear_pods();
    for doc in docs {
        let base = doc.place();
        for obj in doc.value.iter().flat_map(crate::workload::objects) {
            if let Some(pod) = pod_template(obj) {
                let targeted = selected(targets, obj).then_some(targets);
                refs.add_pod(&object_place(&base, obj), pod, targeted);
            }
        }
    }
}

/// Literal env entries of targeted containers whose names look like secrets and whose values
/// look like one (not empty, not a path, not a flag or a number).
pub fn literal_secrets(docs: &[Document<'_>], targets: &Targets) -> Vec<Literal> {
    let mut out = Vec::new();
    for doc in docs {
        let base = doc.place();
        for obj in doc.value.iter().flat_map(objects) {
            let Some(pod) = pod_template(obj).filter(|_| selected(targets, obj)) else {
                continue;
            };
            let place = object_place(&base, obj);
            for list in CONTAINER_LISTS {
                for c in
                    items(pod, &format!("/spec/{list}")).filter(|c| container_selected(targets, c))
                {
                    let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
                    for e in items(c, "/env").filter(|e| e.get("valueFrom").is_none()) {
                        let name = e.get("name").and_then(Value::as_str).unwrap_or("");
                        let Some(value) = e.get("value").and_then(Value::as_str) else {
                            continue;
                        };
                        if looks_secret(name) && secret_like_value(value) {
                            out.push(Literal {
                                at: format!("{place}: container '{cname}': env '{name}'"),
                                name: name.to_string(),
                                value: value.to_string(),
                            });
                        }
                    }
                }
            }
        }
    }
    out
}
