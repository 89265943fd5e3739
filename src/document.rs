//! A document of the stream with its parsed value. The index and the source travel beside the
//! YAML and are never written into it.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::report::{ChangedDocument, DocumentPatch};
use crate::stream::{Chunk, Held};
use crate::workload::{kind_needs_reading, kind_of, name_of, text_may_hold_pods};
use crate::yaml;

#[derive(Debug)]
pub struct Document<'a> {
    /// 1-based position in the input stream.
    pub index: usize,
    pub chunk: Chunk<'a>,
    /// The template file, read from the chunk once.
    source: Option<String>,
    /// The parsed document, when vaultwire needs to read it.
    pub value: Option<Value>,
    /// The value as read, when it is kept (a resource an earlier run added). Otherwise `None`:
    /// the chunk's text is the original, parsed again only when a touched document is settled
    /// ([`Document::settle`]) instead of cloned up front.
    pub original: Option<Value>,
    pub dropped: bool,
    /// A transform may have changed it: only such documents are compared when settled.
    pub touched: bool,
    /// The re-serialized document once it is settled; `None`: unchanged.
    pub emitted: Option<Held>,
    /// Its change as a JSON Patch, when the run reports patches.
    pub patch: Option<DocumentPatch>,
    /// Its text before and after, when the run reports patches.
    pub change: Option<ChangedDocument>,
}

impl<'a> Document<'a> {
    /// Parses the documents vaultwire may change or must read (anything that may hold a pod,
    /// lists, Secrets, ConfigMaps, Ingresses, ServiceAccounts, and any document whose kind
    /// cannot be seen as text); the others pass through as bytes.
    pub fn read_all(chunks: Vec<Chunk<'a>>) -> Result<Vec<Document<'a>>> {
        crate::limits::check_stream(&chunks)?;
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| Document::read_as(i + 1, chunk, false))
            .collect()
    }

    /// A Helm hook: `metadata.annotations["helm.sh/hook"]` is set. The text is looked at first, so
    /// only a document that names the annotation is parsed (when it was not already).
    pub fn is_helm_hook(&self) -> bool {
        const HOOK: &str = "helm.sh/hook";
        if !self.chunk.body.contains(HOOK) {
            return false;
        }
        let has = |v: &Value| {
            v.pointer("/metadata/annotations")
                .and_then(|a| a.get(HOOK))
                .is_some()
        };
        match &self.value {
            Some(v) => has(v),
            None => crate::yaml::parse(self.chunk.body).is_ok_and(|v| has(&v)),
        }
    }

    /// The document is done: its new text (when it changed) is kept, its parsed value let go,
    /// unless `patches` asks for the detail: its patch and both texts, in [`Document::patch`]
    /// and [`Document::change`]. Only a touched document is compared with its original.
    pub fn settle(&mut self, patches: bool) {
        let at = patches.then(|| self.place().object());
        let Some(value) = self.value.take() else {
            return;
        };
        if !self.touched {
            return;
        }
        // A touched document was changed by the transform that touched it; the input is
        // parsed again only for the patch, or when it was kept (an earlier run's operator
        // resource, which may come back the same).
        let original = self.original.take().or_else(|| {
            at.as_ref()
                .and_then(|_| yaml::parse(&self.chunk.document()).ok())
        });
        if original.as_ref().is_some_and(|o| *o == value) {
            return;
        }
        let emitted = Held::new(yaml::to_string(&value));
        if let (Some(at), Some(original)) = (at, original) {
            self.patch = Some(DocumentPatch {
                at: at.clone(),
                patch: json_patch::diff(&original, &value),
            });
            self.change = Some(ChangedDocument::new(at, self.chunk.body, emitted.clone()));
        }
        self.emitted = Some(emitted);
    }

    /// The document's text as it will be written: the re-serialized one, else the input's.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.emitted {
            Some(held) => held.text(),
            None => Cow::Borrowed(self.chunk.body),
        }
    }

    /// Parses every document that is not blank (for `lint` and `check`, which read all kinds).
    pub fn read_every(chunks: Vec<Chunk<'a>>) -> Result<Vec<Document<'a>>> {
        crate::limits::check_stream(&chunks)?;
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| Document::read_as(i + 1, chunk, true))
            .collect()
    }

    fn read_as(index: usize, chunk: Chunk<'a>, every_kind: bool) -> Result<Document<'a>> {
        let needs_reading = !chunk.is_blank()
            && (every_kind
                || text_may_hold_pods(chunk.body)
                || chunk.top_level_kind().is_none_or(kind_needs_reading));
        let value = if needs_reading {
            Some(parse_chunk(index, &chunk)?)
        } else {
            None
        };
        Ok(Document::new(index, chunk, value))
    }

    fn new(index: usize, chunk: Chunk<'a>, value: Option<Value>) -> Self {
        Document {
            index,
            source: chunk.source(),
            original: None,
            value,
            chunk,
            dropped: false,
            touched: false,
            emitted: None,
            patch: None,
            change: None,
        }
    }

    /// Document, template file, kind and name, for messages.
    pub fn place(&self) -> Place {
        let obj = self.value.as_ref();
        Place {
            document: self.index,
            source: self.source.clone(),
            kind: obj.map(|o| kind_of(o).to_string()).unwrap_or_default(),
            name: obj.map(|o| name_of(o).to_string()).unwrap_or_default(),
            ..Place::default()
        }
    }
}

fn parse_chunk(index: usize, chunk: &Chunk<'_>) -> Result<Value> {
    yaml::parse(&chunk.document()).map_err(|e| {
        let place = Place {
            document: index,
            source: chunk.source(),
            kind: chunk.top_level_kind().unwrap_or_default().to_string(),
            ..Place::default()
        };
        let line = e
            .line
            .map(|l| format!(" at line {}", chunk.document_first_line() + l as usize - 1))
            .unwrap_or_default();
        Error::new(
            ErrorKind::Yaml,
            format!("invalid YAML{line}: {}", e.message),
        )
        .at(place)
    })
}

/// The place of one object of a document (itself, or an item of a `kind: List`).
pub fn object_place(document: &Place, obj: &Value) -> Place {
    Place {
        kind: kind_of(obj).to_string(),
        name: name_of(obj).to_string(),
        ..document.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(patches: bool) -> Document<'static> {
        let chunks =
            crate::stream::split("kind: ConfigMap\nmetadata: {name: c}\ndata: {a: one, b: two}\n")
                .chunks;
        let mut doc = Document::read_all(chunks).unwrap().remove(0);
        let value = doc.value.as_mut().unwrap();
        value["data"].as_object_mut().unwrap().shift_remove("a");
        value["data"]["c"] = "z".into();
        doc.touched = true;
        doc.settle(patches);
        doc
    }

    #[test]
    fn settle_keeps_before_and_after_with_the_detail() {
        let doc = changed(true);
        let change = doc.change.as_ref().expect("kept");
        assert_eq!((change.at.document, change.at.name.as_str()), (1, "c"));
        let (before, after) = (change.before().unwrap(), change.after().unwrap());
        assert_eq!(before["data"], serde_json::json!({"a": "one", "b": "two"}));
        let keys: Vec<&String> = after["data"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "c"], "the order as written");
        assert_eq!(yaml::to_string(&after), doc.text());
        let mut patched = before.clone();
        json_patch::patch(&mut patched, &doc.patch.as_ref().unwrap().patch).unwrap();
        assert_eq!(patched, after);
    }

    #[test]
    fn settle_keeps_only_the_text_without_the_detail() {
        let doc = changed(false);
        assert!(doc.change.is_none() && doc.patch.is_none() && doc.value.is_none());
        assert!(doc.text().contains("c: z"));
    }
}
