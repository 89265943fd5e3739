//! The configuration: a YAML file in the integration document's own vocabulary
//! (`existingSecret`, `vault.secretPath`, `vault.role`, ...), overridden by flags.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The three ways of the integration document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Option A: listed keys come from a Secret synced from Vault; the rest stays as rendered.
    Partial,
    /// Option B: Vault Agent Injector annotations; env values become the files it writes.
    Mount,
    /// Option C: every configuration key comes from the one synced Secret.
    Full,
}

impl Mode {
    pub fn option_letter(self) -> char {
        match self {
            Mode::Partial => 'A',
            Mode::Mount => 'B',
            Mode::Full => 'C',
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Partial => "partial",
            Mode::Mount => "mount",
            Mode::Full => "full",
        })
    }
}

impl FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "partial" | "a" => Ok(Mode::Partial),
            "mount" | "b" => Ok(Mode::Mount),
            "full" | "c" => Ok(Mode::Full),
            _ => Err(Error::config(format!(
                "unknown mode '{s}': expected partial (A), mount (B) or full (C)"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Everything vaultwire needs to know. Defaults are the documented defaults.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Config {
    pub mode: Option<Mode>,
    /// The secrets to source from Vault: `[OBJECT/]KEY[=FIELD]`, or a mapping with a Vault
    /// path of its own (see [`KeyEntry`]).
    pub keys: Vec<KeyEntry>,
    /// Full mode: also move literal env entries whose names look like secrets.
    pub keys_from_literals: bool,
    /// Env names that carry a key under another name: `CLICKHOUSE_PASSWORD: ANALYTICS_STORE_PASSWORD`.
    pub aliases: BTreeMap<String, String>,
    /// partial/full: the Secret the operator syncs from Vault.
    pub existing_secret: Option<String>,
    pub vault: VaultConfig,
    /// Mount mode: how each app gets its secrets from the injector's files.
    pub delivery: DeliveryConfig,
    pub targets: Targets,
    /// partial/full: resources that make the operators create the synced Secret.
    pub operators: Operators,
    /// Keep the chart's plaintext Secret/ConfigMap keys even when nothing reads them any more.
    pub keep_plaintext: bool,
    /// Prune a Helm 3 stream that holds no hook: say that no hook of the chart reads the moved keys.
    /// Helm 3 gives a post-renderer no hooks, so by default their Secrets stay as rendered.
    pub prune_without_hooks: bool,
    /// Overwrite existing annotations that disagree instead of failing.
    pub force: bool,
    /// Turn warnings into an error.
    pub strict: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct VaultConfig {
    /// `kv/data/portkey/gateway/config` or `kv/portkey/gateway/config` (KV v2 either way).
    pub secret_path: Option<String>,
    /// 1 or 2; default 2.
    pub kv_version: Option<u8>,
    /// The Vault Kubernetes-auth role of the injector.
    pub role: Option<String>,
    /// Where the injector writes files; default the pod's `secret-volume-path` or `/vault/secrets`.
    pub secret_volume_path: Option<String>,
    /// Extra injector annotations, passed through (`auth-path`, `namespace`, `agent-limits-cpu`, ...).
    pub annotations: BTreeMap<String, String>,
    /// The Vault server, for generated SecretStores and VaultConnections (`https://vault:8200`).
    pub address: Option<String>,
    /// Where Vault's Kubernetes auth method is mounted, without `auth/`; default `kubernetes`.
    pub auth_mount: Option<String>,
    /// The ServiceAccount the operator logs in as; default `default`.
    pub service_account: Option<String>,
}

/// Operator resources vaultwire emits beside the rewritten workloads (partial and full modes).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Operators {
    pub external_secrets: ExternalSecrets,
    pub vault_secrets_operator: VaultSecretsOperator,
    /// Stakater Reloader annotations on the rewritten workloads (restart on rotation).
    pub reloader: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ExternalSecrets {
    pub enabled: bool,
    /// `v1` (ESO 0.17 and later, the default) or `v1beta1` (ESO 0.16 and earlier).
    pub api_version: Option<String>,
    /// Default `1h`.
    pub refresh_interval: Option<String>,
    pub store: StoreRef,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct StoreRef {
    /// Default `vault-store`.
    pub name: Option<String>,
    /// `SecretStore` or `ClusterSecretStore` (the default).
    pub kind: Option<String>,
    /// Emit the store too (Vault provider, Kubernetes auth); needs `vault.address`.
    pub create: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct VaultSecretsOperator {
    pub enabled: bool,
    /// Default `1h`.
    pub refresh_after: Option<String>,
}

/// Which workloads and containers are rewritten. Empty lists match everything; by default every
/// workload whose env carries a configured key is a target.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Targets {
    pub kinds: Vec<String>,
    /// Glob patterns (`*`, `?`) on `metadata.name`.
    pub names: Vec<String>,
    /// Labels that must all match the workload's `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    pub containers: Vec<String>,
}

pub const DEFAULT_SECRET_VOLUME_PATH: &str = "/vault/secrets";
pub const DEFAULT_FILE_SUFFIX: &str = "_FILE";

/// How an app reads a secret the injector wrote (mount mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// The env value is the file's path (the app reads a path): Option B as written.
    #[default]
    Path,
    /// `NAME` becomes `NAME<suffix>` holding the path (`*_FILE` apps: postgres, mysql, Authelia).
    File,
    /// The container sources one env file of `export NAME='…'` lines, then `exec`s its command.
    Exec,
}

impl FromStr for Delivery {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "path" => Ok(Delivery::Path),
            "file" => Ok(Delivery::File),
            "exec" => Ok(Delivery::Exec),
            _ => Err(Error::config(format!(
                "unknown delivery '{s}': expected path, file or exec"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Delivery {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delivery::Path => "path",
            Delivery::File => "file",
            Delivery::Exec => "exec",
        })
    }
}

/// Mount mode's delivery: a default, and per container where a chart mixes apps.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct DeliveryConfig {
    /// `path` (default), `file` or `exec`.
    pub style: Option<Delivery>,
    /// `file` delivery: what is appended to the env name; default `_FILE`.
    pub file_suffix: Option<String>,
    /// Per container; the first entry that matches wins.
    pub containers: Vec<ContainerDelivery>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ContainerDelivery {
    /// Container name (glob `*`, `?`).
    pub container: String,
    /// Workload name (glob); none: every workload.
    pub workload: Option<String>,
    pub style: Option<Delivery>,
    pub file_suffix: Option<String>,
    /// `exec` delivery of a container whose manifest sets no `command`: the image's
    /// entrypoint, which the wrapper then runs (vaultwire cannot read it from the image).
    pub entrypoint: Vec<String>,
}

/// What one container gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStyle {
    pub delivery: Delivery,
    pub file_suffix: String,
    pub entrypoint: Vec<String>,
}

impl DeliveryConfig {
    pub fn for_container(&self, workload: &str, container: &str) -> ContainerStyle {
        let own = self.containers.iter().find(|c| {
            crate::workload::glob_match(&c.container, container)
                && c.workload
                    .as_deref()
                    .is_none_or(|w| crate::workload::glob_match(w, workload))
        });
        ContainerStyle {
            delivery: own.and_then(|c| c.style).or(self.style).unwrap_or_default(),
            file_suffix: own
                .and_then(|c| c.file_suffix.clone())
                .or_else(|| self.file_suffix.clone())
                .unwrap_or_else(|| DEFAULT_FILE_SUFFIX.to_string()),
            entrypoint: own.map(|c| c.entrypoint.clone()).unwrap_or_default(),
        }
    }

    /// True when every container gets path delivery (nothing beyond Option B as written).
    pub fn all_path(&self) -> bool {
        self.style.unwrap_or_default() == Delivery::Path
            && self
                .containers
                .iter()
                .all(|c| c.style.unwrap_or(self.style.unwrap_or_default()) == Delivery::Path)
    }

    fn validate(&self) -> Result<()> {
        let suffixes = self.file_suffix.iter().chain(
            self.containers
                .iter()
                .filter_map(|c| c.file_suffix.as_ref()),
        );
        for s in suffixes {
            let ok = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !ok {
                return Err(Error::config(format!(
                    "file suffix '{s}' must be letters, digits, '_', '-' or '.' (it ends an env name)"
                )));
            }
        }
        for c in &self.containers {
            if c.container.is_empty() {
                return Err(Error::config(
                    "delivery.containers: each entry needs `container:` (a container name or glob)",
                ));
            }
        }
        Ok(())
    }
}

/// One configured key: the `-k` text, or its parts spelled out.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum KeyEntry {
    /// `KEY`, `OBJECT/KEY`, `KEY=FIELD` or `OBJECT/KEY=FIELD`.
    Text(String),
    Parts(KeyParts),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyParts {
    /// The Secret or ConfigMap that holds the key; none: every object that holds it.
    pub object: Option<String>,
    pub key: String,
    /// Its name in Vault and in the synced Secret; default the key.
    pub field: Option<String>,
    /// Where it lives in Vault, when not at `vault.secretPath`.
    pub vault_path: Option<String>,
}

impl From<&str> for KeyEntry {
    fn from(s: &str) -> Self {
        KeyEntry::Text(s.to_string())
    }
}

impl From<String> for KeyEntry {
    fn from(s: String) -> Self {
        KeyEntry::Text(s)
    }
}

/// A configured key, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub object: Option<String>,
    pub key: String,
    pub field: String,
    pub vault_path: Option<String>,
}

impl KeySpec {
    /// `[OBJECT/]KEY[=FIELD]`.
    pub fn parse(text: &str) -> Result<KeySpec> {
        let bad = |why: &str| {
            Error::config(format!(
                "key '{text}': {why}; expected KEY, OBJECT/KEY, KEY=FIELD or OBJECT/KEY=FIELD"
            ))
        };
        let (left, field) = match text.split_once('=') {
            Some((_, "")) => return Err(bad("the field after '=' is empty")),
            Some((l, f)) => (l, Some(f.to_string())),
            None => (text, None),
        };
        let (object, key) = match left.split_once('/') {
            Some(("", _)) => return Err(bad("the object before '/' is empty")),
            Some((_, k)) if k.contains('/') => return Err(bad("more than one '/'")),
            Some((o, k)) => (Some(o.to_string()), k),
            None => (None, left),
        };
        KeySpec::from_parts(KeyParts {
            object,
            key: key.to_string(),
            field,
            vault_path: None,
        })
        .map_err(|e| bad(e.message()))
    }

    pub fn from_parts(p: KeyParts) -> Result<KeySpec> {
        validate_key(&p.key)?;
        if let Some(o) = &p.object {
            validate_dns_name(o, "object name")?;
        }
        if let Some(f) = &p.field {
            validate_key(f)?;
        }
        Ok(KeySpec {
            field: p.field.unwrap_or_else(|| p.key.clone()),
            object: p.object,
            key: p.key,
            vault_path: p.vault_path,
        })
    }
}

impl KeyEntry {
    pub fn spec(&self) -> Result<KeySpec> {
        match self {
            KeyEntry::Text(t) => KeySpec::parse(t),
            KeyEntry::Parts(p) => KeySpec::from_parts(p.clone()),
        }
    }
}

impl Config {
    /// Parses a config file. Unknown fields are errors that suggest the closest known field.
    pub fn from_yaml(text: &str) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        // YAML into the document model first, then the fields: the parser is instantiated once
        // (for documents), which keeps the WASM build within its size budget.
        let value =
            serde_saphyr::from_str_with_options::<serde_json::Value>(text, crate::yaml::options())
                .map_err(|e| Error::config(e.without_snippet().to_string()))?;
        serde_json::from_value::<Config>(value).map_err(|e| {
            let msg = e.to_string();
            let hint = unknown_field_hint(&msg).unwrap_or_default();
            let line = unknown_field_line(&msg, text)
                .map(|l| format!(" at line {l}"))
                .unwrap_or_default();
            Error::config(format!("{msg}{line}{hint}"))
        })
    }

    /// The mode, or an error that says how to give one.
    pub fn mode(&self) -> Result<Mode> {
        self.mode.ok_or_else(|| {
            Error::config("no mode: pass -m partial|mount|full or set `mode:` in the config file")
        })
    }

    pub fn kv_version(&self) -> u8 {
        self.vault.kv_version.unwrap_or(2)
    }

    /// The configured keys, parsed.
    pub fn key_specs(&self) -> Result<Vec<KeySpec>> {
        self.keys.iter().map(KeyEntry::spec).collect()
    }

    /// Checks what can be checked without the stream.
    pub fn validate(&self) -> Result<Mode> {
        let mode = self.mode()?;
        for key in &self.keys {
            key.spec()?;
        }
        for key in self.aliases.values() {
            validate_key(key)?;
        }
        if self.keys_from_literals && (mode != Mode::Full || !self.keys.is_empty()) {
            return Err(Error::config(
                "--keys-from-literals serves full mode without listed keys (it adds the literal secrets to the inferred ones)",
            ));
        }
        if let Some(v) = self.vault.kv_version {
            if v != 1 && v != 2 {
                return Err(Error::config(format!("kv version {v}: expected 1 or 2")));
            }
        }
        match mode {
            Mode::Partial | Mode::Full => {
                let secret = self.existing_secret.as_deref().ok_or_else(|| {
                    Error::config(format!(
                        "{mode} mode needs the name of the Secret synced from Vault: pass --secret NAME or set `existingSecret:`"
                    ))
                })?;
                validate_dns_name(secret, "secret name")?;
                if mode == Mode::Partial && self.keys.is_empty() {
                    return Err(Error::config(
                        "partial mode needs the keys to take from Vault: pass -k KEY (repeatable) or set `keys:`",
                    ));
                }
            }
            Mode::Mount => {
                if self.keys.is_empty() {
                    return Err(Error::config(
                        "mount mode needs the keys to take from Vault: pass -k KEY (repeatable) or set `keys:`",
                    ));
                }
                if self.vault.secret_path.is_none() {
                    return Err(Error::config(
                        "mount mode needs the Vault secret path: pass --vault-path kv/data/... or set `vault.secretPath:`",
                    ));
                }
                if let Some(dir) = &self.vault.secret_volume_path {
                    if !dir.starts_with('/') || dir.contains("..") {
                        return Err(Error::config(format!(
                            "secret volume path '{dir}' must be an absolute path without '..'"
                        )));
                    }
                }
            }
        }
        self.delivery.validate()?;
        if mode != Mode::Mount && self.delivery != DeliveryConfig::default() {
            return Err(Error::config(
                "--delivery and --file-suffix choose how mount mode's injector files reach the app; partial and full modes read a Secret and need neither",
            ));
        }
        let ops = &self.operators;
        if (ops.external_secrets.enabled || ops.vault_secrets_operator.enabled || ops.reloader)
            && mode == Mode::Mount
        {
            return Err(Error::config(
                "operator resources and Reloader annotations serve the synced Secret of partial and full modes, not mount mode",
            ));
        }
        if ops.external_secrets.enabled && ops.vault_secrets_operator.enabled {
            return Err(Error::config(
                "--eso and --vso both make the synced Secret: an ExternalSecret and a VaultStaticSecret would both own it and overwrite each other; choose one operator",
            ));
        }
        if ops.external_secrets.enabled || ops.vault_secrets_operator.enabled {
            if self.vault.secret_path.is_none() {
                return Err(Error::config(
                    "operator resources need the Vault secret path: pass --vault-path kv/data/... or set `vault.secretPath:`",
                ));
            }
            let needs_address =
                ops.vault_secrets_operator.enabled || ops.external_secrets.store.create;
            if needs_address && self.vault.address.is_none() {
                return Err(Error::config(
                    "a generated SecretStore or VaultConnection needs the Vault address: pass --vault-addr URL or set `vault.address:`",
                ));
            }
            if (needs_address || ops.vault_secrets_operator.enabled) && self.vault.role.is_none() {
                return Err(Error::config(
                    "a generated SecretStore or VaultAuth needs the Vault role: pass --role ROLE or set `vault.role:`",
                ));
            }
        }
        if let Some(v) = &ops.external_secrets.api_version {
            if v != "v1" && v != "v1beta1" {
                return Err(Error::config(format!(
                    "External Secrets API version '{v}': expected v1 (ESO 0.17+) or v1beta1 (ESO 0.16 and earlier)"
                )));
            }
        }
        if let Some(k) = &ops.external_secrets.store.kind {
            if k != "SecretStore" && k != "ClusterSecretStore" {
                return Err(Error::config(format!(
                    "store kind '{k}': expected SecretStore or ClusterSecretStore"
                )));
            }
        }
        for glob in &self.targets.names {
            if glob.is_empty() {
                return Err(Error::config("empty name pattern in targets.names"));
            }
        }
        Ok(mode)
    }
}

/// Secret and ConfigMap keys: `[-._a-zA-Z0-9]+`, not `.` or `..` (and so safe as a file name).
pub fn validate_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "key '{key}' is not a valid Secret key: use letters, digits, '-', '_' and '.'"
        )))
    }
}

fn validate_dns_name(name: &str, what: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let ok = !name.is_empty()
        && name.len() <= 253
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "{what} '{name}' is not a valid Kubernetes name (lower-case letters, digits, '-' and '.')"
        )))
    }
}

/// The line of the first `x:` key, for ``unknown field `x` ``.
fn unknown_field_line(msg: &str, text: &str) -> Option<usize> {
    let field = msg.split("unknown field `").nth(1)?.split('`').next()?;
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ");
            l.strip_prefix(field)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// serde reports ``unknown field `x`, expected one of `a`, `b` ``; add the closest candidate.
fn unknown_field_hint(msg: &str) -> Option<String> {
    let rest = msg.split("unknown field `").nth(1)?;
    let field = rest.split('`').next()?;
    let expected = rest.split("expected ").nth(1)?;
    let expected = expected.split(" at line").next().unwrap_or(expected);
    let candidates = expected
        .trim_start_matches("one of ")
        .split([',', ' '])
        .map(|c| c.trim_matches(|ch: char| ch == '`' || ch.is_whitespace()))
        .filter(|c| !c.is_empty() && *c != "or");
    let (best, distance) = candidates
        .map(|c| {
            (
                c.to_string(),
                strsim::levenshtein(&field.to_lowercase(), &c.to_lowercase()),
            )
        })
        .min_by_key(|(_, d)| *d)?;
    (distance <= 3.max(field.len() / 3)).then(|| format!(" (did you mean `{best}`?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_accept_option_letters() {
        assert_eq!("A".parse::<Mode>().unwrap(), Mode::Partial);
        assert_eq!("b".parse::<Mode>().unwrap(), Mode::Mount);
        assert_eq!("full".parse::<Mode>().unwrap(), Mode::Full);
        assert!("D".parse::<Mode>().is_err());
    }

    #[test]
    fn unknown_field_suggests_the_closest() {
        let err = Config::from_yaml("mode: partial\nexistingSecert: x\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("did you mean `existingSecret`?"), "{text}");
        let err = Config::from_yaml("vault:\n  rol: x\n").unwrap_err();
        assert!(err.to_string().contains("did you mean `role`?"), "{err}");
    }

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("PORTKEY_CLIENT_AUTH").is_ok());
        assert!(validate_key("tls.crt").is_ok());
        assert!(validate_key("a/b").is_err());
        assert!(validate_key("..").is_err());
        assert!(validate_key("").is_err());
    }
}
