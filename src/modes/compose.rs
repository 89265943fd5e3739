//! What each env entry of one container holds once the kubelet has expanded it, in terms mount
//! mode can write: literal text, a Vault read, or a variable known only inside the pod.
//!
//! The kubelet's rules: `envFrom` variables first, then each `env` entry in order; an entry's
//! `value` expands `$(NAME)` from what is defined *before* it (a later definition of the same
//! name replaces the earlier one); `command` and `args` expand from the finished environment;
//! an undefined `$(NAME)` stays as written. Service-link variables (`<SVC>_SERVICE_HOST`, ...)
//! are defined too unless the pod sets `enableServiceLinks: false`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::expansion::{self, Piece};
use crate::workload::{items, EnvSource};

/// One piece of an expanded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// The value of a moved field, read from Vault.
    Vault(String),
    /// The value of variable NAME, known only inside the pod (`fieldRef`, a key not moved, a
    /// variable of `envFrom`); `.1` says where it comes from.
    Runtime(String, String),
    /// `$(NAME)` that the kubelet may or may not expand: a variable an `envFrom` source outside
    /// the stream, or a Service link, may define.
    Maybe(String, String),
}

/// An env entry's value, expanded as far as the manifest tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Def {
    /// A carried entry: the value of this field.
    Moved(String),
    /// A `value:`, expanded.
    Value(Vec<Part>),
    /// `valueFrom` not moved, or an `envFrom` variable.
    Runtime(String),
    /// An optional keyRef: the kubelet leaves the variable unset when the key is missing.
    Uncertain(String),
}

impl Def {
    fn parts(&self, name: &str) -> Vec<Part> {
        match self {
            Def::Moved(field) => vec![Part::Vault(field.clone())],
            Def::Value(parts) => parts.clone(),
            Def::Runtime(from) => vec![Part::Runtime(name.to_string(), from.clone())],
            Def::Uncertain(why) => vec![Part::Maybe(name.to_string(), why.clone())],
        }
    }
}

/// True when `parts` read a moved field.
pub fn reads_vault(parts: &[Part]) -> bool {
    parts.iter().any(|p| matches!(p, Part::Vault(_)))
}

/// A container's env as the kubelet builds it.
#[derive(Debug, Default)]
pub struct Env {
    /// Per `env` entry, in order: its name and what it holds.
    pub entries: Vec<(String, Def)>,
    /// The finished environment, for `command` and `args`.
    pub finished: BTreeMap<String, Def>,
    /// How many times each name is defined (`envFrom` and `env`).
    pub definitions: BTreeMap<String, usize>,
    /// An `envFrom` source outside the stream: it may define any name.
    unknown_source: Option<String>,
    service_links: bool,
}

/// Where `envFrom` variables come from: per source, its description and the keys it is known
/// to hold (`None`: a source outside the stream).
pub type EnvFromKeys = Vec<(String, Option<Vec<String>>)>;

impl Env {
    /// Reads container `c`; `carried(i)` is the field env entry `i` carries now.
    pub fn read(
        c: &Value,
        env_from: EnvFromKeys,
        service_links: bool,
        carried: impl Fn(usize) -> Option<String>,
    ) -> Env {
        let mut env = Env {
            service_links,
            ..Env::default()
        };
        let mut defined: BTreeMap<String, Def> = BTreeMap::new();
        for (from, keys) in env_from {
            match keys {
                Some(keys) => {
                    for k in keys {
                        *env.definitions.entry(k.clone()).or_default() += 1;
                        defined.insert(k, Def::Runtime(from.clone()));
                    }
                }
                None => env.unknown_source = Some(from),
            }
        }
        for (i, e) in items(c, "/env").enumerate() {
            let name = e
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let def = if let Some(field) = carried(i) {
                Def::Moved(field)
            } else if optional_key_ref(e) {
                Def::Uncertain(format!(
                    "{} is optional: the kubelet leaves the variable unset when the key is missing",
                    EnvSource::of(e).describe()
                ))
            } else if e.get("valueFrom").is_some() {
                Def::Runtime(EnvSource::of(e).describe())
            } else {
                let text = e.get("value").map(super::scalar_text).unwrap_or_default();
                Def::Value(env.expand(&text, &defined))
            };
            *env.definitions.entry(name.clone()).or_default() += 1;
            defined.insert(name.clone(), def.clone());
            env.entries.push((name, def));
        }
        env.finished = defined;
        env
    }

    /// `text` expanded against `defined`.
    pub fn expand(&self, text: &str, defined: &BTreeMap<String, Def>) -> Vec<Part> {
        let mut parts: Vec<Part> = Vec::new();
        for piece in expansion::pieces(text) {
            let more = match piece {
                Piece::Text(t) => vec![Part::Text(t.into_owned())],
                Piece::Ref(name) => match defined.get(name) {
                    Some(def) => def.parts(name),
                    None => match self.may_define(name) {
                        Some(why) => vec![Part::Maybe(name.to_string(), why)],
                        None => vec![Part::Text(format!("$({name})"))],
                    },
                },
            };
            for p in more {
                match (parts.last_mut(), p) {
                    (Some(Part::Text(a)), Part::Text(b)) => a.push_str(&b),
                    (_, p) => parts.push(p),
                }
            }
        }
        parts
    }

    /// `command` or `args` text expanded against the finished environment.
    pub fn expand_argument(&self, text: &str) -> Vec<Part> {
        self.expand(text, &self.finished)
    }

    /// `command` or `args` text for the shell of exec delivery: every defined `$(NAME)` becomes
    /// the variable itself (`Runtime`), which the shell reads after the env file is sourced.
    pub fn argument_by_name(&self, text: &str) -> Vec<Part> {
        let by_name: BTreeMap<String, Def> = self
            .finished
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    Def::Runtime("the container's environment".into()),
                )
            })
            .collect();
        self.expand(text, &by_name)
    }

    fn may_define(&self, name: &str) -> Option<String> {
        if let Some(from) = &self.unknown_source {
            return Some(format!("{from}, which is not in the stream, may define it"));
        }
        (self.service_links && is_service_link(name))
            .then(|| "a Service link may define it (enableServiceLinks)".to_string())
    }
}

fn optional_key_ref(e: &Value) -> bool {
    [
        "/valueFrom/secretKeyRef/optional",
        "/valueFrom/configMapKeyRef/optional",
    ]
    .iter()
    .any(|p| e.pointer(p) == Some(&Value::Bool(true)))
}

/// `<SVC>_SERVICE_HOST`, `<SVC>_SERVICE_PORT[_<PORT>]`, `<SVC>_PORT[_...]`: the names the kubelet
/// defines for every Service of the namespace.
fn is_service_link(name: &str) -> bool {
    let upper = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    };
    upper(name)
        && ["_SERVICE_HOST", "_SERVICE_PORT", "_PORT"]
            .iter()
            .any(|m| name.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(s: &str) -> Part {
        Part::Text(s.into())
    }

    #[test]
    fn values_expand_from_what_is_defined_before_them() {
        let c = json!({"env": [
            {"name": "EARLY", "value": "$(PASSWORD)"},
            {"name": "USER", "value": "app"},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "URL", "value": "pg://$(USER):$(PASSWORD)@$(POD)/$$(USER)/$(NOPE)"},
            {"name": "AGAIN", "value": "[$(URL)]"},
        ]});
        let env = Env::read(&c, Vec::new(), false, |i| {
            (i == 2).then(|| "db_password".into())
        });
        assert_eq!(env.entries[0].1, Def::Value(vec![text("$(PASSWORD)")]));
        let url = vec![
            text("pg://app:"),
            Part::Vault("db_password".into()),
            text("@"),
            Part::Runtime("POD".into(), "other valueFrom".into()),
            text("/$(USER)/$(NOPE)"),
        ];
        assert_eq!(env.entries[4].1, Def::Value(url.clone()));
        let again = vec![
            text("[pg://app:"),
            Part::Vault("db_password".into()),
            text("@"),
            Part::Runtime("POD".into(), "other valueFrom".into()),
            text("/$(USER)/$(NOPE)]"),
        ];
        assert_eq!(env.entries[5].1, Def::Value(again));
        assert_eq!(
            env.expand_argument("--early=$(EARLY)"),
            vec![text("--early=$(PASSWORD)")]
        );
    }

    #[test]
    fn an_optional_key_ref_may_leave_its_variable_unset() {
        let c = json!({"env": [
            {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": true}}},
            {"name": "A", "value": "$(OPT)"},
        ]});
        let env = Env::read(&c, Vec::new(), false, |_| None);
        assert!(
            matches!(&env.entries[1].1, Def::Value(p) if matches!(&p[0], Part::Maybe(n, _) if n == "OPT"))
        );
    }

    #[test]
    fn unknown_sources_and_service_links_may_define_a_name() {
        let c = json!({"env": [{"name": "A", "value": "$(REDIS_SERVICE_HOST):$(X)"}]});
        let env = Env::read(&c, Vec::new(), true, |_| None);
        assert!(
            matches!(&env.entries[0].1, Def::Value(p) if matches!(p[0], Part::Maybe(..)) && p[1] == text(":$(X)"))
        );
        let env = Env::read(
            &c,
            vec![("envFrom Secret 'ext'".into(), None)],
            false,
            |_| None,
        );
        assert!(
            matches!(&env.entries[0].1, Def::Value(p) if p.iter().filter(|x| matches!(x, Part::Maybe(..))).count() == 2)
        );
    }
}
