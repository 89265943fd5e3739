//! Vault Secrets Operator: `VaultConnection`, `VaultAuth` and a `VaultStaticSecret` that creates
//! the synced Secret. Unlike the integration document's shortcuts: `path` is relative to
//! `mount` with no `data/`, `destination.create` is set (it defaults to false), the `_raw` key
//! is excluded (it would leak the whole response through `envFrom`), and only the keys the env
//! reads are kept.

use serde_json::{json, Value};

use crate::config::Config;
use crate::operators::{eso::DEFAULT_AUTH_MOUNT, Resource, Wired};
use crate::vault::VaultPath;

/// The kinds VSO can restart on rotation.
fn restart_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "Deployment" => Some("Deployment"),
        "StatefulSet" => Some("StatefulSet"),
        "DaemonSet" => Some("DaemonSet"),
        "Rollout" => Some("argo.Rollout"),
        _ => None,
    }
}

pub fn resources(
    config: &Config,
    path: &VaultPath,
    secret: &str,
    keys: &[String],
    wired: &[Wired],
) -> Vec<Resource> {
    let name = format!("{secret}-vault");
    let mut restart: Vec<Value> = Vec::new();
    for w in wired {
        if let Some(kind) = restart_kind(&w.kind) {
            let target = json!({"kind": kind, "name": w.name});
            if !restart.contains(&target) {
                restart.push(target);
            }
        }
    }
    let includes: Vec<String> = keys
        .iter()
        .map(|k| format!("^{}$", regex_escape(k)))
        .collect();
    let mut kubernetes = json!({"role": config.vault.role.as_deref().unwrap_or_default()});
    kubernetes["serviceAccount"] =
        json!(config.vault.service_account.as_deref().unwrap_or("default"));
    vec![
        Resource::new(
            "vaultconnection.yaml",
            json!({
                "apiVersion": "secrets.hashicorp.com/v1beta1",
                "kind": "VaultConnection",
                "metadata": {"name": name},
                "spec": {"address": config.vault.address.as_deref().unwrap_or_default(), "skipTLSVerify": false}
            }),
        ),
        Resource::new(
            "vaultauth.yaml",
            json!({
                "apiVersion": "secrets.hashicorp.com/v1beta1",
                "kind": "VaultAuth",
                "metadata": {"name": name},
                "spec": {
                    "vaultConnectionRef": name,
                    "method": "kubernetes",
                    "mount": config.vault.auth_mount.as_deref().unwrap_or(DEFAULT_AUTH_MOUNT),
                    "kubernetes": kubernetes,
                }
            }),
        ),
        Resource::new(
            "vaultstaticsecret.yaml",
            json!({
                "apiVersion": "secrets.hashicorp.com/v1beta1",
                "kind": "VaultStaticSecret",
                "metadata": {"name": name},
                "spec": {
                    "vaultAuthRef": name,
                    "mount": path.mount,
                    "type": format!("kv-v{}", path.kv_version),
                    "path": path.secret,
                    "refreshAfter": config.operators.vault_secrets_operator.refresh_after.as_deref().unwrap_or("1h"),
                    "destination": {
                        "name": secret,
                        "create": true,
                        "transformation": {"excludeRaw": true, "includes": includes},
                    },
                    "rolloutRestartTargets": restart,
                }
            }),
        ),
    ]
}

/// Keys are `[-._a-zA-Z0-9]+`; only `.` and `-` need care in a regular expression.
fn regex_escape(key: &str) -> String {
    key.replace('.', "\\.")
}
