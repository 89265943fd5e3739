//! What vaultwire writes for the Vault Agent Injector: annotation names that are legal and that
//! vault-k8s maps to the file the env points to, KV paths, and templates.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};

pub const PREFIX: &str = "vault.hashicorp.com/";

/// The longest per-secret prefix vaultwire writes; the name part after the prefix is at most
/// 63 characters, so a secret `<name>` gets what is left.
const LONGEST_PER_NAME: &str = "agent-inject-template-";
pub const MAX_NAME: usize = 63 - LONGEST_PER_NAME.len();

/// The name part of an annotation key: `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, ≤ 63.
pub fn legal_annotation_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A KV secret as the injector reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultPath {
    /// The path the agent's `secret` function reads (`kv/data/x` for KV v2).
    pub api_path: String,
    pub mount: String,
    /// The secret's path inside the mount (`portkey/gateway/config`).
    pub secret: String,
    pub kv_version: u8,
}

impl VaultPath {
    /// Accepts `kv/data/x` and `kv/x` for KV v2 (the mount is the part before `/data/`, else the
    /// first segment) and `kv/x` for KV v1.
    pub fn parse(path: &str, kv_version: u8) -> Result<VaultPath> {
        let trimmed = path.trim_matches('/');
        let legal = !trimmed.is_empty()
            && trimmed.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '@' | '+' | '=')
            })
            && !trimmed
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..");
        if !legal {
            return Err(Error::config(format!(
                "vault path '{path}' is not a KV path such as kv/data/app/config"
            )));
        }
        let (mount, secret) = if kv_version == 2 {
            match trimmed.split_once("/data/") {
                Some((m, s)) => (m, s),
                None => trimmed.split_once('/').unwrap_or((trimmed, "")),
            }
        } else {
            trimmed.split_once('/').unwrap_or((trimmed, ""))
        };
        if secret.is_empty() {
            return Err(Error::config(format!(
                "vault path '{path}' names a mount but no secret: use <mount>/<secret>, e.g. kv/data/app/config"
            )));
        }
        let api_path = if kv_version == 2 {
            format!("{mount}/data/{secret}")
        } else {
            trimmed.to_string()
        };
        Ok(VaultPath {
            api_path,
            mount: mount.to_string(),
            secret: secret.to_string(),
            kv_version,
        })
    }

    /// One line that says how the path was read, for `--explain` and the report.
    pub fn describe(&self) -> String {
        format!(
            "vault path {} (KV v{}: mount '{}', secret '{}')",
            self.api_path, self.kv_version, self.mount, self.secret
        )
    }

    /// The agent template that renders exactly the value of `key`, and fails loudly (with
    /// `error-on-missing-key`) instead of writing `<no value>`.
    pub fn template(&self, key: &str) -> String {
        format!(
            "{{{{- with secret \"{}\" -}}}}{{{{ {} }}}}{{{{- end }}}}",
            self.api_path,
            self.read(key)
        )
    }

    /// The template expression of `key`'s value inside `with secret`.
    pub fn read(&self, key: &str) -> String {
        let data = if self.kv_version == 2 {
            ".Data.data"
        } else {
            ".Data"
        };
        if is_go_identifier(key) {
            format!("{data}.{key}")
        } else {
            format!("index {data} \"{key}\"")
        }
    }
}

fn is_go_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The injector `<name>` of each key. vault-k8s lower-cases names, so vaultwire writes them
/// lower-case and names the file explicitly (`agent-inject-file-<name>: KEY`): the file is then
/// KEY whatever the case rules. Names that would be too long, empty, or shared by two keys that
/// differ only in case get a short hash of the key.
pub fn secret_names(keys: &[String]) -> BTreeMap<String, String> {
    let plain = |k: &str| -> String {
        k.to_ascii_lowercase()
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string()
    };
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for k in keys.iter().collect::<BTreeSet<_>>() {
        *count.entry(plain(k)).or_default() += 1;
    }
    keys.iter()
        .map(|k| {
            let p = plain(k);
            let name = if !p.is_empty() && p.len() <= MAX_NAME && count[&p] == 1 {
                p
            } else {
                let head: String = p.chars().take(MAX_NAME - 9).collect();
                let head = head.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                let hash = format!("{:08x}", fnv1a(k.as_bytes()));
                if head.is_empty() {
                    format!("k{hash}")
                } else {
                    format!("{head}-{hash}")
                }
            };
            debug_assert!(legal_annotation_name(&format!("{LONGEST_PER_NAME}{name}")));
            (k.clone(), name)
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv2_paths_with_and_without_data() {
        let a = VaultPath::parse("kv/data/portkey/gateway/config", 2).unwrap();
        let b = VaultPath::parse("kv/portkey/gateway/config", 2).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.api_path, "kv/data/portkey/gateway/config");
        assert_eq!(a.secret, "portkey/gateway/config");
        let v1 = VaultPath::parse("secret/app", 1).unwrap();
        assert_eq!(v1.api_path, "secret/app");
        assert!(VaultPath::parse("kv", 2).is_err());
        assert!(VaultPath::parse("kv/\"x", 2).is_err());
    }

    #[test]
    fn templates_read_the_key() {
        let p = VaultPath::parse("kv/data/app", 2).unwrap();
        assert_eq!(
            p.template("REDIS_URL"),
            "{{- with secret \"kv/data/app\" -}}{{ .Data.data.REDIS_URL }}{{- end }}"
        );
        assert!(p
            .template("tls.crt")
            .contains("index .Data.data \"tls.crt\""));
        let v1 = VaultPath::parse("secret/app", 1).unwrap();
        assert!(v1.template("K").contains("{{ .Data.K }}"));
    }

    #[test]
    fn names_are_legal_short_and_distinct() {
        let long = "A_VERY_LONG_CONFIGURATION_KEY_NAME_THAT_GOES_ON_AND_ON".to_string();
        let keys = vec![
            "PORTKEY_CLIENT_AUTH".to_string(),
            "foo".into(),
            "FOO".into(),
            long.clone(),
            "_x_".into(),
        ];
        let names = secret_names(&keys);
        assert_eq!(names["PORTKEY_CLIENT_AUTH"], "portkey_client_auth");
        assert_ne!(names["foo"], names["FOO"]);
        assert!(names[&long].len() <= MAX_NAME);
        assert_eq!(names["_x_"], "x");
        for n in names.values() {
            assert!(
                legal_annotation_name(&format!("agent-inject-template-{n}")),
                "{n}"
            );
        }
    }
}

/// A file the injector writes, read from pod annotations the way vault-k8s reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFile {
    /// The `<name>` of the `agent-inject-secret-<name>` annotation, as written.
    pub name: String,
    pub path: String,
    pub template: Option<String>,
}

/// Every file the injector would write for these pod annotations: `<name>` lower-cased unless
/// `preserve-secret-case(-<name>)` is true, `agent-inject-file-<name>` naming the file, and
/// `secret-volume-path(-<name>)` the directory (`/vault/secrets` by default).
pub fn injector_files(
    annotations: &serde_json::Map<String, serde_json::Value>,
) -> Vec<InjectedFile> {
    let get = |k: &str| {
        annotations
            .get(&format!("{PREFIX}{k}"))
            .and_then(|v| v.as_str())
    };
    let truthy =
        |k: &str| get(k).is_some_and(|v| matches!(v, "true" | "1" | "t" | "T" | "TRUE" | "True"));
    let default_dir =
        get("secret-volume-path").unwrap_or(crate::config::DEFAULT_SECRET_VOLUME_PATH);
    let mut files = Vec::new();
    for key in annotations.keys() {
        let Some(raw) = key.strip_prefix(&format!("{PREFIX}agent-inject-secret-")) else {
            continue;
        };
        if raw.is_empty() {
            continue;
        }
        let preserve = match get(&format!("preserve-secret-case-{raw}")) {
            Some(_) => truthy(&format!("preserve-secret-case-{raw}")),
            None => truthy("preserve-secret-case"),
        };
        let file = get(&format!("agent-inject-file-{raw}"))
            .map(str::to_string)
            .unwrap_or_else(|| {
                if preserve {
                    raw.to_string()
                } else {
                    raw.to_lowercase()
                }
            });
        let dir = get(&format!("secret-volume-path-{raw}")).unwrap_or(default_dir);
        files.push(InjectedFile {
            name: raw.to_string(),
            path: format!(
                "{}/{}",
                dir.trim_end_matches('/'),
                file.trim_start_matches('/')
            ),
            template: get(&format!("agent-inject-template-{raw}")).map(str::to_string),
        });
    }
    files
}
