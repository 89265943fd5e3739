//! Option C: every configuration key comes from the one synced Secret. Without listed keys, the
//! key set is what the targeted env reads from the chart's own Secrets and ConfigMaps (and from
//! the synced Secret, so that a second run finds the same set).

use crate::config::Targets;
use crate::document::Document;
use crate::error::{Error, ErrorKind, Result};
use crate::workload::{
    items, objects, pod_template, selected, targeted_containers, EnvSource, ObjectRef,
};

pub fn infer_keys(docs: &[Document<'_>], targets: &Targets, synced: &str) -> Result<Vec<String>> {
    let mut chart_objects: Vec<ObjectRef> = docs
        .iter()
        .flat_map(|d| d.value.iter().flat_map(objects))
        .filter_map(ObjectRef::of)
        .collect();
    chart_objects.push(ObjectRef::secret(synced));
    let mut keys: Vec<String> = Vec::new();
    for obj in docs.iter().flat_map(|d| d.value.iter().flat_map(objects)) {
        if !selected(targets, obj) {
            continue;
        }
        let Some(pod) = pod_template(obj) else {
            continue;
        };
        for (_, _, c) in targeted_containers(pod, targets) {
            for e in items(c, "/env") {
                if let Some((from, key)) = EnvSource::of(e).object_key() {
                    if chart_objects.contains(&from) && !keys.iter().any(|k| k == key) {
                        keys.push(key.to_string());
                    }
                }
            }
        }
    }
    if keys.is_empty() {
        return Err(Error::new(
            ErrorKind::Input,
            "full mode found no configuration keys: no targeted env entry reads a Secret or ConfigMap rendered in this stream (a chart that renders literals, e.g. through `lookup`, has none); list the keys with -k KEY or `keys:` in the config",
        ));
    }
    Ok(keys)
}
