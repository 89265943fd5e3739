//! A document of the stream with its parsed value. The index and the source travel beside the
//! YAML and are never written into it.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::report::{ChangedDocument, DocumentPatch, Located};
use crate::stream::{Chunk, Held};
use crate::workload::{kind_needs_reading, kind_of, name_of, text_may_hold_pods};
use crate::yaml;

#[derive(Debug)]
pub struct Document<'a> {
    /// 1-based position in the input stream.
    pub index: usize,
    pub chunk: Chunk<'a>,
    /// The parsed document, when vaultwire needs to read it.
    pub value: Option<Value>,
    /// The value as read, when it is kept ([`Document::load`]). For a document parsed from its
    /// chunk this is `None`: the chunk's untouched text is the original, parsed again only when
    /// it is settled ([`Document::settle`]) instead of cloned up front.
    pub original: Option<Value>,
    pub dropped: bool,
    /// A transform may have changed it: only such documents are compared when settled.
    pub touched: bool,
    /// A workload read only when its turn comes ([`Document::read_all`]), wired, written out
    /// to [`Document::emitted`] and let go, so a big stream is never held parsed all at once.
    pub deferred: bool,
    /// The re-serialized document once it is settled; `None`: unchanged.
    pub emitted: Option<Held>,
    /// Its change as a JSON Patch, when the run reports patches.
    pub patch: Option<DocumentPatch>,
    /// Its text before and after, when the run reports patches.
    pub change: Option<ChangedDocument>,
}

impl<'a> Document<'a> {
    /// Parses the documents vaultwire may change or must read (workloads, Lists, Secrets,
    /// ConfigMaps, and any document whose kind cannot be seen as text); the others pass through
    /// as bytes. With `defer_workloads`, a document whose text shows a workload kind is left for
    /// [`Document::load`].
    pub fn read_all(chunks: Vec<Chunk<'a>>, defer_workloads: bool) -> Result<Vec<Document<'a>>> {
        crate::limits::check_stream(&chunks)?;
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let workload = text_may_hold_pods(chunk.body);
                if defer_workloads && workload && !chunk.is_blank() {
                    Ok(Document::new(i + 1, chunk, None, true))
                } else {
                    Document::read(i + 1, chunk)
                }
            })
            .collect()
    }

    /// Reads a deferred document, keeping what it was for the comparison when it is settled.
    pub fn load(&mut self) -> Result<()> {
        if self.deferred && self.value.is_none() && self.emitted.is_none() {
            let value = parse_chunk(self.index, &self.chunk)?;
            self.original = Some(value.clone());
            self.value = Some(value);
        }
        Ok(())
    }

    /// Reads the document again from its input bytes, undoing what a run did to it.
    pub fn reload(&mut self) -> Result<()> {
        self.emitted = None;
        self.patch = None;
        self.change = None;
        self.value = None;
        self.original = None;
        if self.deferred {
            self.load()
        } else {
            self.value = Some(parse_chunk(self.index, &self.chunk)?);
            Ok(())
        }
    }

    /// The document is done: its new text (when it changed) is kept, its parsed value let go,
    /// unless `patches` asks for the detail: its patch and both texts, in [`Document::patch`]
    /// and [`Document::change`]. The original is the one kept by [`Document::load`], else the
    /// input bytes parsed again, one document at a time, rather than cloned when read.
    pub fn settle(&mut self, patches: bool) {
        let at = patches.then(|| Located::from(&self.place()));
        let Some(value) = self.value.take() else {
            return;
        };
        if !self.touched && !self.deferred {
            return;
        }
        let original = self
            .original
            .take()
            .or_else(|| yaml::parse(&self.chunk.document()).ok());
        if let Some(original) = original.filter(|o| *o != value) {
            let emitted = Held::new(yaml::to_string(&value));
            if let Some(at) = at {
                self.patch = Some(DocumentPatch {
                    at: at.clone(),
                    patch: json_patch::diff(&original, &value),
                });
                self.change = Some(ChangedDocument::new(at, self.chunk.body, emitted.clone()));
            }
            self.emitted = Some(emitted);
        }
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

    fn read(index: usize, chunk: Chunk<'a>) -> Result<Document<'a>> {
        Document::read_as(index, chunk, false)
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
        Ok(Document::new(index, chunk, value, false))
    }

    fn new(index: usize, chunk: Chunk<'a>, value: Option<Value>, deferred: bool) -> Self {
        Document {
            index,
            original: None,
            value,
            chunk,
            dropped: false,
            touched: false,
            deferred,
            emitted: None,
            patch: None,
            change: None,
        }
    }

    /// Document, template file, kind and name, for messages.
    pub fn place(&self) -> Place {
        let obj = self.value.as_ref();
        Place {
            document: Some(self.index),
            source: self.chunk.source(),
            kind: obj
                .map(|o| kind_of(o).to_string())
                .filter(|k| !k.is_empty()),
            name: obj
                .map(|o| name_of(o).to_string())
                .filter(|n| !n.is_empty()),
            ..Place::default()
        }
    }
}

fn parse_chunk(index: usize, chunk: &Chunk<'_>) -> Result<Value> {
    yaml::parse(&chunk.document()).map_err(|e| {
        let place = Place {
            document: Some(index),
            source: chunk.source(),
            kind: chunk.top_level_kind().map(str::to_string),
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
        kind: Some(kind_of(obj).to_string()).filter(|k| !k.is_empty()),
        name: Some(name_of(obj).to_string()).filter(|n| !n.is_empty()),
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
        let mut doc = Document::read_all(chunks, false).unwrap().remove(0);
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
