//! Copies of a moved value elsewhere in the output: another Secret or ConfigMap key, an
//! annotation, any string field. Each is a `plaintext-copy` warning naming the document and
//! the field, never the value. Documents vaultwire did not read are searched line by line
//! first (linear) and read only when a line holds a moved value.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::document::{object_place, Document};
use crate::error::Place;
use crate::objects::{decode, ObjectRef};
use crate::report::PlaintextCopy;
use crate::selection::secret_like_value;
use crate::workload::{kind_of, objects};

/// The values to look for: value -> whose it is (`Secret 'db'/password`).
pub struct Moved<'a> {
    values: HashMap<&'a str, String>,
    /// The lengths the values have: most scalars of a text are rejected by length alone.
    lengths: Vec<bool>,
    /// One substring finder per distinct 6-byte prefix of the values: a text that holds none
    /// holds no value (values often share a prefix, so this is a few SIMD passes).
    prefixes: Vec<memchr::memmem::Finder<'static>>,
    /// (object, key) whose own entry is not a copy (kept for a reader).
    own: HashSet<(ObjectRef, String)>,
}

/// Values this short, or flags and numbers, match too much to be called copies.
pub const MIN_COPY_LEN: usize = 6;

impl<'a> Moved<'a> {
    pub fn new(
        values: impl IntoIterator<Item = (&'a str, String)>,
        own: HashSet<(ObjectRef, String)>,
    ) -> Self {
        let values = values
            .into_iter()
            .filter(|(v, _)| v.len() >= MIN_COPY_LEN && secret_like_value(v))
            .collect::<HashMap<&str, String>>();
        let mut lengths = vec![false; values.keys().map(|v| v.len() + 1).max().unwrap_or(0)];
        for v in values.keys() {
            lengths[v.len()] = true;
        }
        let mut heads: Vec<&[u8]> = values
            .keys()
            .map(|v| &v.as_bytes()[..MIN_COPY_LEN])
            .collect();
        heads.sort();
        heads.dedup();
        let prefixes = heads
            .into_iter()
            .map(|h| memchr::memmem::Finder::new(h).into_owned())
            .collect();
        Moved {
            values,
            lengths,
            prefixes,
            own,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every copy in the stream as it will be written.
    pub fn find(&self, docs: &[Document<'_>]) -> Vec<PlaintextCopy> {
        let mut out = Vec::new();
        if self.is_empty() {
            return out;
        }
        for doc in docs.iter().filter(|d| !d.dropped) {
            // A copy is in the input text already (the transforms write no values), except in
            // Secret data, which is base64.
            let secret_data = doc
                .value
                .as_ref()
                .is_some_and(|v| objects(v).iter().any(|o| kind_of(o) == "Secret"));
            match &doc.value {
                Some(_) if !secret_data && !self.text_may_hold(doc.chunk.body) => {}
                Some(v) => self.document(doc, v, &mut out),
                None if doc.chunk.is_blank() || !self.text_may_hold(doc.chunk.body) => {}
                None => match crate::yaml::parse(doc.chunk.body) {
                    Ok(v) => self.document(doc, &v, &mut out),
                    Err(_) => out.push(PlaintextCopy {
                        at: doc.place().object(),
                        field: "(a document that does not parse)".into(),
                        of: "a moved key".into(),
                    }),
                },
            }
        }
        out
    }

    /// Does a line of the text hold a value as its whole scalar (`key: value`, `- value`, a
    /// line of a block scalar)? Only then is the document read for the exact field.
    fn text_may_hold(&self, body: &str) -> bool {
        if !self
            .prefixes
            .iter()
            .any(|f| f.find(body.as_bytes()).is_some())
        {
            return false;
        }
        body.lines().any(|line| {
            let t = line.trim_start();
            let t = t.strip_prefix("- ").unwrap_or(t);
            let after = memchr::memmem::find(t.as_bytes(), b": ").map_or(t, |i| &t[i + 2..]);
            [t, after].into_iter().any(|s| {
                let s = s.trim_end().trim_matches(['"', '\'']);
                self.lengths.get(s.len()).copied().unwrap_or(false) && self.values.contains_key(s)
            })
        })
    }

    fn document(&self, doc: &Document<'_>, value: &Value, out: &mut Vec<PlaintextCopy>) {
        let base = doc.place();
        for obj in objects(value) {
            let at = object_place(&base, obj).object();
            let this = ObjectRef::of(obj);
            let secret = kind_of(obj) == "Secret";
            let Some(map) = obj.as_object() else { continue };
            for (k, v) in map {
                if matches!(k.as_str(), "data" | "stringData") && this.is_some() {
                    let Some(data) = v.as_object() else { continue };
                    for (key, x) in data {
                        let Some(text) = x.as_str() else { continue };
                        let plain = if secret && k == "data" {
                            decode(text)
                        } else {
                            Some(text.to_string())
                        };
                        let Some(of) = plain.as_deref().and_then(|p| self.values.get(p)) else {
                            continue;
                        };
                        if this
                            .as_ref()
                            .is_some_and(|o| self.own.contains(&(o.clone(), key.clone())))
                        {
                            continue;
                        }
                        out.push(PlaintextCopy {
                            at: at.clone(),
                            field: format!("{k}.{key}"),
                            of: of.clone(),
                        });
                    }
                } else {
                    self.walk(v, &mut vec![Step::Key(k)], &at, out);
                }
            }
        }
    }

    /// Every string field of `v`; the path is spelled out only for a copy (most documents
    /// hold none, and formatting every path would cost more than the walk).
    fn walk<'v>(
        &self,
        v: &'v Value,
        path: &mut Vec<Step<'v>>,
        at: &Place,
        out: &mut Vec<PlaintextCopy>,
    ) {
        match v {
            Value::String(s) => {
                if let Some(of) = self.values.get(s.as_str()) {
                    out.push(PlaintextCopy {
                        at: at.clone(),
                        field: spell(path),
                        of: of.clone(),
                    });
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(Step::Index(i));
                    self.walk(x, path, at, out);
                    path.pop();
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    path.push(Step::Key(k));
                    self.walk(x, path, at, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// One step of a field path.
enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// `spec.template.spec.containers[0].env[2].value`
fn spell(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}
