//! Plaintext the release no longer needs goes away, and only that: a key moved off a chart
//! Secret/ConfigMap leaves it when the reference index, built again over the rewritten pods,
//! shows no reader left; an object left empty is dropped when no document names it. Whatever
//! stays for a reader gets a note naming the reader. One look-up per moved key: linear.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::document::{object_place, Document};
use crate::modes::Moved;
use crate::objects::{data_keys, ObjectRef, DATA_FIELDS};
use crate::references::References;
use crate::report::{Kept, RemovedKey, Report};
use crate::workload::objects_mut;

/// `refs`: the index with the pods as rewritten.
pub fn plaintext(
    docs: &mut [Document<'_>],
    moved: &BTreeSet<Moved>,
    refs: &References,
    report: &mut Report,
) {
    if moved.is_empty() {
        return;
    }
    for doc in docs.iter_mut() {
        let base = doc.place();
        let in_list = doc
            .value
            .as_ref()
            .is_some_and(|v| crate::workload::is_list_kind(crate::workload::kind_of(v)));
        let Some(value) = doc.value.as_mut() else {
            continue;
        };
        let mut drop_document = false;
        for obj in objects_mut(value) {
            let Some(target) = ObjectRef::of(obj) else {
                continue;
            };
            let place = object_place(&base, obj);
            let mut removed_any = false;
            for (_, key) in moved
                .range((target.clone(), String::new())..)
                .take_while(|(o, _)| *o == target)
            {
                if let Some(reader) = refs.readers(&target, key).next() {
                    let count = refs.readers(&target, key).count();
                    report.kept.push(Kept {
                        at: place.object(),
                        key: key.clone(),
                        reader: reader.describe(),
                        readers: count,
                    });
                    continue;
                }
                for field in DATA_FIELDS {
                    if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
                        if map.shift_remove(key).is_some() {
                            removed_any = true;
                            report.removed_keys.push(RemovedKey {
                                at: place.object(),
                                key: key.clone(),
                            });
                        }
                    }
                }
            }
            if !removed_any || !data_keys(obj).is_empty() {
                continue;
            }
            match refs.to(&target).next() {
                Some(reader) => report.notes.push(format!(
                    "{place}: kept although it is now empty: {} names it",
                    reader.describe()
                )),
                None if in_list => report.notes.push(format!(
                    "{place}: kept although it is now empty: it is an item of a list"
                )),
                None => drop_document = true,
            }
        }
        if drop_document {
            doc.dropped = true;
            report.dropped_documents.push(doc.place().object());
        }
    }
}
