//! What a wired stream reads from Vault: every (path, key) of the injector annotations, the
//! `ExternalSecret`s and the `VaultStaticSecret`s, for `vaultwire check` to verify before a
//! deploy. Pure: the CLI does the HTTP.

use serde::Serialize;
use serde_json::Value;

use crate::document::{object_place, Document};
use crate::error::{Place, Result};
use crate::stream;
use crate::vault::injector_files;
use crate::workload::{items, kind_of, name_of, objects, pod_template};

/// One read: the API path (`kv/data/app` for KV v2), the key (empty: the whole secret), and
/// where the stream asks for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultRead {
    pub api_path: String,
    pub key: String,
    /// KV version of the path, when the stream says (1 or 2); `None` for injector templates,
    /// whose data layout is seen in the response.
    pub kv_version: Option<u8>,
    #[serde(flatten)]
    pub at: Place,
    pub via: String,
}

pub fn vault_reads(input: &str) -> Result<Vec<VaultRead>> {
    let docs = Document::read_every(stream::split(input).chunks)?;
    let all: Vec<&Value> = docs
        .iter()
        .flat_map(|d| d.value.iter().flat_map(objects))
        .collect();
    let mut reads = Vec::new();
    for doc in &docs {
        let base = doc.place();
        for obj in doc.value.iter().flat_map(objects) {
            let at = object_place(&base, obj).object();
            let mut push = |api_path: String, key: String, kv_version, via: String| {
                let read = VaultRead {
                    api_path,
                    key,
                    kv_version,
                    at: at.clone(),
                    via,
                };
                if !reads.contains(&read) {
                    reads.push(read);
                }
            };
            if let Some(ann) = pod_template(obj)
                .and_then(|p| p.pointer("/metadata/annotations"))
                .and_then(Value::as_object)
            {
                for f in injector_files(ann) {
                    let Some(path) = ann
                        .get(&format!(
                            "{}agent-inject-secret-{}",
                            crate::vault::PREFIX,
                            f.name
                        ))
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    let keys = f.template.as_deref().map(template_keys).unwrap_or_default();
                    let via = format!("injector file {}", f.path);
                    if keys.is_empty() {
                        push(path.to_string(), String::new(), None, via.clone());
                    }
                    for k in keys {
                        push(path.to_string(), k, None, via.clone());
                    }
                }
            }
            match kind_of(obj) {
                "ExternalSecret" => {
                    let store = obj
                        .pointer("/spec/secretStoreRef/name")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let provider = all
                        .iter()
                        .find(|o| {
                            matches!(kind_of(o), "SecretStore" | "ClusterSecretStore")
                                && name_of(o) == store
                        })
                        .and_then(|o| o.pointer("/spec/provider/vault"));
                    let mount = provider.and_then(|p| p.get("path")).and_then(Value::as_str);
                    let v2 = provider
                        .and_then(|p| p.get("version"))
                        .and_then(Value::as_str)
                        != Some("v1");
                    for d in items(obj, "/spec/data") {
                        let key = d
                            .pointer("/remoteRef/key")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let property = d
                            .pointer("/remoteRef/property")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        // Without the store in the stream the mount is unknown: read the key as a full path.
                        let api_path = match mount {
                            Some(m) if v2 => format!("{m}/data/{key}"),
                            Some(m) => format!("{m}/{key}"),
                            None => key.to_string(),
                        };
                        push(
                            api_path,
                            property.to_string(),
                            Some(if v2 { 2 } else { 1 }),
                            format!("ExternalSecret store '{store}'"),
                        );
                    }
                }
                "VaultStaticSecret" => {
                    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
                    let v2 = s("/spec/type") != "kv-v1";
                    let api_path = if v2 {
                        format!("{}/data/{}", s("/spec/mount"), s("/spec/path"))
                    } else {
                        format!("{}/{}", s("/spec/mount"), s("/spec/path"))
                    };
                    let keys: Vec<String> = items(obj, "/spec/destination/transformation/includes")
                        .filter_map(Value::as_str)
                        .map(|r| {
                            r.trim_start_matches('^')
                                .trim_end_matches('$')
                                .replace("\\.", ".")
                        })
                        .collect();
                    let via = "VaultStaticSecret".to_string();
                    if keys.is_empty() {
                        push(
                            api_path.clone(),
                            String::new(),
                            Some(if v2 { 2 } else { 1 }),
                            via.clone(),
                        );
                    }
                    for k in keys {
                        push(
                            api_path.clone(),
                            k,
                            Some(if v2 { 2 } else { 1 }),
                            via.clone(),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    Ok(reads)
}

/// The keys an agent template reads: `.Data.data.K`, `.Data.K`, `index .Data.data "K"`.
pub fn template_keys(template: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut add = |k: &str| {
        if !k.is_empty() && !keys.iter().any(|x| x == k) {
            keys.push(k.to_string());
        }
    };
    for part in template.split("index .Data").skip(1) {
        let part = part.strip_prefix(".data").unwrap_or(part);
        if let Some(q) = part.trim_start().strip_prefix('"') {
            add(q.split('"').next().unwrap_or(""));
        }
    }
    for part in template.split(".Data.").skip(1) {
        let part = part.strip_prefix("data.").unwrap_or(part);
        let ident: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident != "data" {
            add(&ident);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_keys_are_read() {
        assert_eq!(
            template_keys("{{- with secret \"kv/data/a\" -}}{{ .Data.data.REDIS_URL }}{{- end }}"),
            ["REDIS_URL"]
        );
        assert_eq!(
            template_keys("{{ index .Data.data \"tls.key\" }}"),
            ["tls.key"]
        );
        assert_eq!(template_keys("{{ .Data.K }}"), ["K"]);
        assert!(template_keys("{{ range $k, $v := .Data.data }}{{ end }}").is_empty());
    }
}
