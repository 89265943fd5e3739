//! A document of the stream with its parsed value. The index and the source travel beside the
//! YAML and are never written into it.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Place, Result};
use crate::stream::Chunk;
use crate::workload::{kind_needs_reading, kind_of, name_of};
use crate::yaml;

#[derive(Debug)]
pub struct Document<'a> {
    /// 1-based position in the input stream.
    pub index: usize,
    pub chunk: Chunk<'a>,
    /// The parsed document, when vaultwire needs to read it.
    pub value: Option<Value>,
    /// The value as read, when it is kept. For a document parsed from its chunk this is `None`:
    /// the chunk's untouched text is the original, parsed again only when it is needed
    /// ([`Document::original_value`]) instead of cloned up front, which halves the memory of a
    /// big stream.
    pub original: Option<Value>,
    pub dropped: bool,
}

impl<'a> Document<'a> {
    /// Parses the documents vaultwire may change or must read (workloads, Lists, Secrets,
    /// ConfigMaps, and any document whose kind cannot be seen as text); the others pass through
    /// as bytes.
    pub fn read_all(chunks: Vec<Chunk<'a>>) -> Result<Vec<Document<'a>>> {
        crate::limits::check_stream(&chunks)?;
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| Document::read(i + 1, chunk))
            .collect()
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
            && (every_kind || chunk.top_level_kind().is_none_or(kind_needs_reading));
        let value = if needs_reading {
            let body = chunk.body;
            match yaml::parse(body) {
                Ok(v) => Some(v),
                Err(e) => {
                    let place = Place {
                        document: Some(index),
                        source: chunk.source(),
                        kind: chunk.top_level_kind().map(str::to_string),
                        ..Place::default()
                    };
                    let line = e
                        .line
                        .map(|l| format!(" at line {}", chunk.first_line + l as usize - 1))
                        .unwrap_or_default();
                    return Err(Error::new(
                        ErrorKind::Yaml,
                        format!("invalid YAML{line}: {}", e.message),
                    )
                    .at(place));
                }
            }
        } else {
            None
        };
        Ok(Document {
            index,
            original: None,
            value,
            chunk,
            dropped: false,
        })
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

    /// The value as read: the kept one, or the chunk parsed again.
    pub fn original_value(&self) -> Option<Cow<'_, Value>> {
        match (&self.original, &self.value) {
            (Some(original), _) => Some(Cow::Borrowed(original)),
            (None, Some(_)) => yaml::parse(self.chunk.body).ok().map(Cow::Owned),
            (None, None) => None,
        }
    }

    pub fn changed(&self) -> bool {
        match &self.value {
            None => false,
            Some(value) => self.original_value().is_none_or(|o| *o != *value),
        }
    }
}

/// The place of one object of a document (itself, or an item of a `kind: List`).
pub fn object_place(document: &Place, obj: &Value) -> Place {
    Place {
        kind: Some(kind_of(obj).to_string()).filter(|k| !k.is_empty()),
        name: Some(name_of(obj).to_string()).filter(|n| !n.is_empty()),
        ..document.clone()
    }
}
