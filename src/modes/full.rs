//! Option C: every configuration key comes from the one synced Secret. Without listed keys, the
//! key set is what the targeted env reads from the chart's own Secrets and ConfigMaps (and from
//! the synced Secret, so that a second run finds the same set).

use crate::config::Targets;
use crate::document::Document;
use crate::error::{Error, ErrorKind, Result};
use crate::workload::{
    items, objects, pod_template, selected, targeted_containers, EnvSource, ObjectRef,
};

/// The inferred keys, and a note when they came only from the synced Secret (a render that is
/// already wired, or a chart that points its env at the synced Secret itself).
pub fn infer_keys(
    docs: &[Document<'_>],
    targets: &Targets,
    synced: &str,
) -> Result<(Vec<String>, Option<String>)> {
    let synced_ref = ObjectRef::secret(synced);
    let mut chart_objects: Vec<ObjectRef> = docs
        .iter()
        .flat_map(|d| d.value.iter().flat_map(objects))
        .filter_map(ObjectRef::of)
        .collect();
    chart_objects.push(synced_ref.clone());
    let mut keys: Vec<String> = Vec::new();
    let mut from_chart = false;
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
                    from_chart |= chart_objects.contains(&from) && from != synced_ref;
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
    let note = (!from_chart).then(|| {
        format!(
            "full mode: the stream renders no Secret or ConfigMap the env reads; the keys are those the env already reads from '{synced}' ({} keys): list keys with -k to wire literal entries too",
            keys.len()
        )
    });
    Ok((keys, note))
}
