//! Which secrets move: the configured keys (`-k [OBJECT/]KEY[=FIELD]`), or in full mode the keys
//! the targeted pods read, resolved against the reference index into sources `(object, key)`,
//! each with the field it takes in Vault and in the synced Secret. Two different plaintexts
//! never share a field: an ambiguous key stops the run with the qualified keys that would work.

use std::collections::{BTreeMap, HashMap};

use crate::config::{validate_key, KeySpec};
use crate::error::{Error, ErrorKind, Result};
use crate::objects::{ChartObjects, ObjectRef};
use crate::references::{
    env_from_fate, left_through_env_from, EnvFromFate, Reader, Reference, References,
};

/// One secret that moves to Vault.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The key name: what literal entries named like it are matched on.
    pub key: String,
    /// Its name in Vault and in the synced Secret.
    pub field: String,
    /// Its own Vault path (config `vaultPath`), else the configured one.
    pub vault_path: Option<String>,
    /// The chart objects whose `key` this is.
    pub sources: Vec<ObjectRef>,
    /// The plaintext, when every source renders it and they agree.
    pub plain: Option<String>,
    /// A literal entry named `key` carries it without a known plaintext: nothing reads the key
    /// by reference (a chart that renders every value as a literal through `lookup`).
    pub by_name: bool,
}

/// How a literal env entry relates to the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralMatch {
    /// It is the same secret: its value equals the plaintext (or it carries the key by name).
    Carries(usize),
    /// Named like a selected key, but with another value: a different setting.
    Differs(usize),
    /// Named like a selected key whose plaintext is unknown and which others read by
    /// reference: a different setting.
    ReadByReference(usize),
    None,
}

#[derive(Debug, Default)]
pub struct Selection {
    pub selected: Vec<Selected>,
    by_source: HashMap<(ObjectRef, String), usize>,
    by_field: HashMap<String, usize>,
    /// env name -> key
    aliases: BTreeMap<String, String>,
    /// Notes on how the selection was made (inferred fields).
    pub notes: Vec<String>,
    /// Reads that full mode leaves as they are (an `envFrom` a later source outside the stream
    /// may override).
    pub warnings: Vec<String>,
}

/// A literal env entry of a targeted container (for `--keys-from-literals`).
pub struct Literal {
    pub at: String,
    pub name: String,
    pub value: String,
}

/// What the selection is made from.
pub struct Facts<'a> {
    pub objects: &'a ChartObjects,
    pub refs: &'a References,
    pub synced: Option<&'a ObjectRef>,
}

impl Facts<'_> {
    /// Objects other than the synced Secret that a targeted env or envFrom reads `key` from.
    fn holders(&self, key: &str) -> Vec<ObjectRef> {
        let mut out: Vec<ObjectRef> = Vec::new();
        for r in self.refs.pod_references().iter().filter(|r| r.targeted) {
            if Some(&r.target) == self.synced || out.contains(&r.target) {
                continue;
            }
            let holds = match (&r.key, &r.reader) {
                (Some(k), Reader::Env { .. }) => k == key,
                (None, Reader::EnvFrom { .. }) => {
                    self.objects.get(&r.target).is_some_and(|o| o.holds(key)) && r.reads(key)
                }
                _ => false,
            };
            if holds {
                out.push(r.target.clone());
            }
        }
        out
    }

    /// Does any targeted env entry read `key` by reference, from any object?
    fn read_by_reference(&self, key: &str) -> bool {
        self.refs.pod_references().iter().any(|r| {
            r.targeted && matches!(r.reader, Reader::Env { .. }) && r.key.as_deref() == Some(key)
        })
    }

    /// The one plaintext all `sources` render for `key`, if they all do and agree.
    fn common_plaintext(&self, sources: &[ObjectRef], key: &str) -> Option<String> {
        let mut plain: Option<&str> = None;
        for s in sources {
            let p = self.objects.plaintext(s, key)?;
            if plain.is_some_and(|q| q != p) {
                return None;
            }
            plain = Some(p);
        }
        plain.map(str::to_string)
    }

    fn describe(&self, r: &ObjectRef) -> String {
        match self.objects.get(r) {
            Some(o) => format!("{r} ({})", o.at),
            None => format!("{r} (not rendered in this stream)"),
        }
    }
}

/// The deterministic field of a key that several objects hold with different values.
pub fn qualified_field(object: &ObjectRef, key: &str) -> String {
    format!("{}.{key}", object.name)
}

impl Selection {
    /// Resolves configured keys.
    pub fn configured(
        specs: &[KeySpec],
        aliases: &BTreeMap<String, String>,
        facts: &Facts<'_>,
    ) -> Result<Selection> {
        let mut selection = Selection {
            aliases: aliases.clone(),
            ..Selection::default()
        };
        for spec in specs {
            let sources = match &spec.object {
                Some(name) => qualified_sources(name, &spec.key, facts),
                None => {
                    let holders = facts.holders(&spec.key);
                    if holders.len() > 1 && facts.common_plaintext(&holders, &spec.key).is_none() {
                        return Err(ambiguous(&spec.key, &holders, facts));
                    }
                    holders
                }
            };
            let plain = if sources.is_empty() {
                None
            } else {
                facts.common_plaintext(&sources, &spec.key)
            };
            let by_name =
                spec.object.is_none() && sources.is_empty() && !facts.read_by_reference(&spec.key);
            selection.add(Selected {
                key: spec.key.clone(),
                field: spec.field.clone(),
                vault_path: spec.vault_path.clone(),
                sources,
                plain,
                by_name,
            })?;
        }
        Ok(selection)
    }

    /// Full mode without configured keys: every key a targeted container reads from a chart
    /// object (by keyRef or through envFrom) or already from the synced Secret; with
    /// `literals`, secret-looking literal entries too.
    pub fn inferred(facts: &Facts<'_>, literals: &[Literal]) -> Result<Selection> {
        let mut selection = Selection::default();
        // key -> its sources, in stream order
        let mut groups: Vec<(String, Vec<ObjectRef>)> = Vec::new();
        let mut add_source =
            |key: &str, obj: &ObjectRef| match groups.iter_mut().find(|(k, _)| k == key) {
                Some((_, objs)) if !objs.contains(obj) => objs.push(obj.clone()),
                Some(_) => {}
                None => groups.push((key.to_string(), vec![obj.clone()])),
            };
        let mut synced_fields: Vec<String> = Vec::new();
        // envFrom reads the rewrite leaves as they are: (reader, key, env name, later source)
        let mut left: Vec<(&Reference, &str, String, &ObjectRef)> = Vec::new();
        for r in facts.refs.pod_references().iter().filter(|r| r.targeted) {
            if Some(&r.target) == facts.synced {
                if let (Some(k), Reader::Env { .. }) = (&r.key, &r.reader) {
                    if !synced_fields.contains(k) {
                        synced_fields.push(k.clone());
                    }
                }
                continue;
            }
            let Some(obj) = facts.objects.get(&r.target) else {
                continue;
            };
            match (&r.key, &r.reader) {
                (Some(k), Reader::Env { .. }) if obj.holds(k) => add_source(k, &r.target),
                (None, Reader::EnvFrom { prefix, later, .. }) => {
                    for k in obj.keys.iter().filter(|k| r.reads(k) && env_name_like(k)) {
                        let name = format!("{prefix}{k}");
                        // A read that keeps its chart object (a later envFrom source outside
                        // the stream may set the name) moves nothing to Vault: it makes the
                        // object no source of a field, so it neither takes a field nor
                        // conflicts with one. What the object's other readers move is decided
                        // by them.
                        match env_from_fate(facts.objects, &name, later) {
                            EnvFromFate::MaybeShadowed(t) => left.push((r, k, name, t)),
                            EnvFromFate::Reaches | EnvFromFate::Shadowed => {
                                add_source(k, &r.target)
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for (r, key, name, later) in left {
            if groups
                .iter()
                .any(|(k, objs)| k == key && objs.contains(&r.target))
            {
                continue; // a source all the same: the rewrite warns when it meets this reader
            }
            let container = match &r.reader {
                Reader::EnvFrom { container, .. } => Some(container.to_string()),
                _ => None,
            };
            let at = crate::error::Place {
                container,
                ..(*r.at).clone()
            };
            let warning = left_through_env_from(&at, key, &r.target, &name, later);
            if !selection.warnings.contains(&warning) {
                selection.warnings.push(warning);
            }
        }
        for field in synced_fields {
            selection.add(Selected {
                key: field.clone(),
                field,
                vault_path: None,
                sources: Vec::new(),
                plain: None,
                by_name: false,
            })?;
        }
        if groups.is_empty() && !selection.selected.is_empty() {
            let synced = facts.synced.map(|s| s.name.as_str()).unwrap_or_default();
            selection.notes.push(format!(
                "full mode: the stream renders no Secret or ConfigMap the env reads; the keys are those the env already reads from '{synced}' ({} keys): list keys with -k to wire literal entries too",
                selection.selected.len()
            ));
        }
        let mut qualified = 0;
        for (key, sources) in groups {
            match facts.common_plaintext(&sources, &key) {
                Some(plain) => selection.add(Selected {
                    field: key.clone(),
                    key,
                    vault_path: None,
                    sources,
                    plain: Some(plain),
                    by_name: false,
                })?,
                None if sources.len() == 1 => selection.add(Selected {
                    field: key.clone(),
                    key,
                    vault_path: None,
                    sources,
                    plain: None,
                    by_name: false,
                })?,
                None => {
                    for s in sources {
                        qualified += 1;
                        selection.add(Selected {
                            field: qualified_field(&s, &key),
                            key: key.clone(),
                            vault_path: None,
                            plain: facts.objects.plaintext(&s, &key).map(str::to_string),
                            sources: vec![s],
                            by_name: false,
                        })?;
                    }
                }
            }
        }
        if qualified > 0 {
            selection.notes.push(format!(
                "full mode: {qualified} key(s) are held by several objects with different values; each takes the field OBJECT.KEY in Vault and in the synced Secret"
            ));
        }
        let mut by_name: Vec<(&str, &Literal)> = Vec::new();
        for l in literals {
            match by_name.iter().find(|(n, _)| *n == l.name) {
                Some((_, first)) if first.value != l.value => {
                    return Err(Error::new(
                        ErrorKind::Input,
                        format!(
                            "--keys-from-literals: literal env entries named {} hold different values ({}; {}); one Vault field would merge them: list them as keys of their own, or restrict the targets",
                            l.name, first.at, l.at
                        ),
                    ));
                }
                Some(_) => {}
                None => by_name.push((&l.name, l)),
            }
        }
        for (name, l) in by_name {
            if selection.by_field.contains_key(name) {
                let i = selection.by_field[name];
                if selection.selected[i].plain.as_deref() == Some(l.value.as_str()) {
                    continue;
                }
            }
            selection.add(Selected {
                key: name.to_string(),
                field: name.to_string(),
                vault_path: None,
                sources: Vec::new(),
                plain: Some(l.value.clone()),
                by_name: false,
            })?;
        }
        if selection.selected.is_empty() {
            if let Some(first) = selection.warnings.first() {
                return Err(Error::new(
                    ErrorKind::Input,
                    format!(
                        "full mode found no configuration key it can move: every key the targeted containers read from a chart object reaches them through an envFrom that a later source outside the stream may override ({} such read(s); {first}); render that source in the stream, or restrict the targets",
                        selection.warnings.len()
                    ),
                ));
            }
            return Err(Error::new(
                ErrorKind::Input,
                "full mode found no configuration keys: no targeted env entry reads a Secret or ConfigMap rendered in this stream (a chart that renders literals, e.g. through `lookup`, has none); list the keys with -k KEY or `keys:` in the config, or pass --keys-from-literals",
            ));
        }
        Ok(selection)
    }

    fn add(&mut self, s: Selected) -> Result<()> {
        validate_key(&s.field)?;
        for src in &s.sources {
            if let Some(&i) = self.by_source.get(&(src.clone(), s.key.clone())) {
                if self.selected[i].field != s.field {
                    return Err(Error::config(format!(
                        "key {} of {src} is selected twice, as fields {} and {}: list it once",
                        s.key, self.selected[i].field, s.field
                    )));
                }
            }
        }
        if let Some(&i) = self.by_field.get(&s.field) {
            let first = &self.selected[i];
            let same = first.plain.is_some() && first.plain == s.plain
                || (first.sources == s.sources && first.key == s.key);
            if !same {
                let name = |x: &Selected| {
                    if x.sources.is_empty() {
                        format!("key {}", x.key)
                    } else {
                        x.sources
                            .iter()
                            .map(|o| format!("{o}/{}", x.key))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                return Err(Error::new(
                    ErrorKind::Input,
                    format!(
                        "two secrets would share the Vault field {}: {} and {}, whose values differ or are not known; give each a field of its own with -k OBJECT/KEY=FIELD",
                        s.field,
                        name(first),
                        name(&s)
                    ),
                ));
            }
            for src in s.sources {
                self.by_source.insert((src.clone(), s.key.clone()), i);
                if !self.selected[i].sources.contains(&src) {
                    self.selected[i].sources.push(src);
                }
            }
            return Ok(());
        }
        let i = self.selected.len();
        for src in &s.sources {
            self.by_source.insert((src.clone(), s.key.clone()), i);
        }
        self.by_field.insert(s.field.clone(), i);
        self.selected.push(s);
        Ok(())
    }

    /// Fields already wired somewhere in the stream: their literal namesakes are not carried
    /// by name alone (what a first run decided, a second run decides again).
    pub fn already_wired(&mut self, fields: &std::collections::BTreeSet<String>) {
        for s in self
            .selected
            .iter_mut()
            .filter(|s| fields.contains(&s.field))
        {
            s.by_name = false;
        }
    }

    pub fn of_source(&self, obj: &ObjectRef, key: &str) -> Option<&Selected> {
        self.by_source
            .get(&(obj.clone(), key.to_string()))
            .map(|&i| &self.selected[i])
    }

    pub fn of_field(&self, field: &str) -> Option<&Selected> {
        self.by_field.get(field).map(|&i| &self.selected[i])
    }

    /// The fields, in configuration order.
    pub fn fields(&self) -> Vec<String> {
        self.selected.iter().map(|s| s.field.clone()).collect()
    }

    /// Position of a field in configuration order.
    pub fn order(&self, field: &str) -> usize {
        self.by_field.get(field).copied().unwrap_or(usize::MAX)
    }

    /// Is a literal entry `name: value` one of the selected secrets? By its name, or the key
    /// its name is an alias of; the same secret when the value equals the key's plaintext.
    pub fn literal(&self, name: &str, value: &str) -> (LiteralMatch, bool) {
        let alias = self.aliases.get(name);
        let mut result = LiteralMatch::None;
        for (i, s) in self.selected.iter().enumerate() {
            let named = s.key == name && alias.is_none();
            let aliased = alias == Some(&s.key);
            if !named && !aliased {
                continue;
            }
            let m = match &s.plain {
                Some(p) if p == value => LiteralMatch::Carries(i),
                Some(_) => LiteralMatch::Differs(i),
                None if s.by_name || aliased => LiteralMatch::Carries(i),
                None => LiteralMatch::ReadByReference(i),
            };
            if matches!(m, LiteralMatch::Carries(_)) {
                return (m, aliased);
            }
            if result == LiteralMatch::None {
                result = m;
            }
        }
        (result, alias.is_some())
    }
}

fn qualified_sources(name: &str, key: &str, facts: &Facts<'_>) -> Vec<ObjectRef> {
    let mut out: Vec<ObjectRef> = facts
        .objects
        .named(name)
        .filter(|r| facts.objects.get(r).is_some_and(|o| o.holds(key)))
        .collect();
    for r in facts.refs.pod_references() {
        if r.target.name == name
            && r.key.as_deref() == Some(key)
            && !facts.objects.renders(&r.target)
            && !out.contains(&r.target)
        {
            out.push(r.target.clone());
        }
    }
    out
}

fn ambiguous(key: &str, holders: &[ObjectRef], facts: &Facts<'_>) -> Error {
    let objects: Vec<String> = holders.iter().map(|h| facts.describe(h)).collect();
    let lines: Vec<String> = holders
        .iter()
        .map(|h| format!("  -k {}/{key}={}", h.name, qualified_field(h, key)))
        .collect();
    Error::new(
        ErrorKind::Input,
        format!(
            "key {key} is held by {} objects whose values differ or are not all rendered: {}; one Vault field would merge them into one secret. Name each one (the field after '=' is its name in Vault):\n{}",
            holders.len(),
            objects.join("; "),
            lines.join("\n")
        ),
    )
}

/// `envFrom` skips keys that are not environment variable names.
fn env_name_like(key: &str) -> bool {
    !key.is_empty() && !key.starts_with(|c: char| c.is_ascii_digit()) && !key.contains('=')
}

/// Does an env name look like it holds a secret? Words of the name (split on `_`, `-`, `.`)
/// or parts of them.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const PARTS: [&str; 8] = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "PRIVATE",
        "SALT",
        "APIKEY",
    ];
    const WORDS: [&str; 4] = ["PASS", "PWD", "KEY", "DSN"];
    PARTS.iter().any(|p| upper.contains(p))
        || upper.split(['_', '-', '.']).any(|w| WORDS.contains(&w))
}

/// A literal value worth calling a secret: not empty, not a path, not a flag or a number.
pub fn secret_like_value(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with('/')
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no"
        )
        && value.parse::<f64>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "DB_PASS",
            "POSTGRES_PASSWORD",
            "API_KEY",
            "SENTRY_DSN",
            "OTP_SECRET",
            "x-token",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in ["PORT", "KEYCLOAK_URL", "LOG_LEVEL", "PASSAGE"] {
            assert!(!looks_secret(n), "{n}");
        }
        assert!(!secret_like_value("/vault/secrets/x"));
        assert!(!secret_like_value("8080"));
        assert!(secret_like_value("hunter22"));
    }
}
