//! The Secrets and ConfigMaps a chart renders: their names, keys and plaintext. Plaintext is
//! held in memory only, to tell whether two readers of one key name read one secret; it is
//! compared, never printed.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::Place;
use crate::workload::{kind_of, name_of};

/// A Secret or ConfigMap by kind and name (namespaces are the release's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub kind: &'static str,
    pub name: String,
}

impl ObjectRef {
    pub fn secret(name: &str) -> Self {
        ObjectRef {
            kind: "Secret",
            name: name.to_string(),
        }
    }

    pub fn config_map(name: &str) -> Self {
        ObjectRef {
            kind: "ConfigMap",
            name: name.to_string(),
        }
    }

    /// The object an `envFrom` source names.
    pub fn of_env_from(from: &Value) -> Option<Self> {
        let name = |p: &str| from.pointer(p).and_then(Value::as_str);
        name("/secretRef/name")
            .map(ObjectRef::secret)
            .or_else(|| name("/configMapRef/name").map(ObjectRef::config_map))
    }

    pub fn of(obj: &Value) -> Option<Self> {
        match kind_of(obj) {
            "Secret" => Some(ObjectRef::secret(name_of(obj))),
            "ConfigMap" => Some(ObjectRef::config_map(name_of(obj))),
            _ => None,
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} '{}'", self.kind, self.name)
    }
}

pub const DATA_FIELDS: [&str; 3] = ["data", "stringData", "binaryData"];

/// The keys a Secret or ConfigMap holds.
pub fn data_keys(obj: &Value) -> Vec<String> {
    DATA_FIELDS
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect()
}

/// The plaintext of every key of a Secret or ConfigMap: `stringData` wins over `data` as the
/// API server merges them; Secret `data` is base64. A value that does not decode, or is not
/// text, is left out (unknown).
pub fn plaintext(obj: &Value) -> Vec<(String, String)> {
    let secret = kind_of(obj) == "Secret";
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| match out.iter_mut().find(|(x, _)| x == k) {
        Some(slot) => slot.1 = v,
        None => out.push((k.to_string(), v)),
    };
    if let Some(map) = obj.get("data").and_then(Value::as_object) {
        for (k, v) in map {
            let text = match v {
                Value::String(s) if secret => decode(s),
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            };
            if let Some(text) = text {
                put(k, text);
            }
        }
    }
    if secret {
        if let Some(map) = obj.get("stringData").and_then(Value::as_object) {
            for (k, v) in map {
                if let Some(s) = v.as_str() {
                    put(k, s.to_string());
                }
            }
        }
    }
    out
}

/// A Secret's `data` value read as the API server reads it: Go's `base64.StdEncoding`, the
/// standard alphabet with padding, line breaks skipped, trailing bits not checked. URL-safe or
/// unpadded data the API server refuses, so nothing is read from it here either.
pub fn decode(raw: &str) -> Option<String> {
    use base64::engine::{general_purpose, GeneralPurpose};
    use base64::{alphabet, Engine as _};
    const KUBERNETES: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        general_purpose::PAD.with_decode_allow_trailing_bits(true),
    );
    let compact: String = raw.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    String::from_utf8(KUBERNETES.decode(compact).ok()?).ok()
}

/// One rendered Secret or ConfigMap.
#[derive(Debug, Clone)]
pub struct ChartObject {
    pub at: Place,
    pub keys: Vec<String>,
    plain: Vec<(String, String)>,
}

impl ChartObject {
    pub fn holds(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// The plaintext of `key`, when the chart renders it as text.
    pub fn plaintext(&self, key: &str) -> Option<&str> {
        self.plain
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Every Secret and ConfigMap of the stream. Two documents rendering one object: the last
/// wins, as it would at apply time.
#[derive(Debug, Default)]
pub struct ChartObjects {
    by_ref: HashMap<ObjectRef, ChartObject>,
}

impl ChartObjects {
    pub fn add(&mut self, obj: &Value, at: Place) {
        if let Some(r) = ObjectRef::of(obj) {
            self.by_ref.insert(
                r,
                ChartObject {
                    at,
                    keys: data_keys(obj),
                    plain: plaintext(obj),
                },
            );
        }
    }

    pub fn get(&self, r: &ObjectRef) -> Option<&ChartObject> {
        self.by_ref.get(r)
    }

    pub fn renders(&self, r: &ObjectRef) -> bool {
        self.by_ref.contains_key(r)
    }

    /// The plaintext of (object, key), when the chart renders it.
    pub fn plaintext(&self, r: &ObjectRef, key: &str) -> Option<&str> {
        self.get(r)?.plaintext(key)
    }

    /// The rendered objects named `name`, Secret first.
    pub fn named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = ObjectRef> + 's {
        [ObjectRef::secret(name), ObjectRef::config_map(name)]
            .into_iter()
            .filter(|r| self.renders(r))
    }

    pub fn refs(&self) -> impl Iterator<Item = &ObjectRef> {
        self.by_ref.keys()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_ref.keys().map(|r| r.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plaintext_reads_data_and_string_data() {
        let s = json!({"kind": "Secret", "data": {"a": "aGk=", "b": "!!"}, "stringData": {"a": "there"}});
        assert_eq!(plaintext(&s), vec![("a".to_string(), "there".to_string())]);
        let cm = json!({"kind": "ConfigMap", "data": {"PORT": 8787, "X": "y"}});
        assert_eq!(
            plaintext(&cm),
            vec![
                ("PORT".to_string(), "8787".to_string()),
                ("X".to_string(), "y".to_string())
            ]
        );
    }
}
