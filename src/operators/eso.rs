//! External Secrets Operator: an `ExternalSecret` whose target is the synced Secret and whose
//! `data` are exactly the keys the env reads, and optionally the store (Vault provider,
//! Kubernetes auth). `remoteRef.key` is relative to the store's mount (`path: kv`), not the
//! `kv/data/...` API path the integration document shows.

use serde_json::{json, Value};

use crate::config::Config;
use crate::operators::Resource;
use crate::vault::VaultPath;

pub const DEFAULT_STORE: &str = "vault-store";
pub const DEFAULT_AUTH_MOUNT: &str = "kubernetes";

/// `fields`: each field of the synced Secret with the Vault path it lives at (the store's
/// mount is the first field's).
pub fn resources(config: &Config, secret: &str, fields: &[(String, VaultPath)]) -> Vec<Resource> {
    let eso = &config.operators.external_secrets;
    let api = format!(
        "external-secrets.io/{}",
        eso.api_version.as_deref().unwrap_or("v1")
    );
    let store_name = eso.store.name.as_deref().unwrap_or(DEFAULT_STORE);
    let store_kind = eso.store.kind.as_deref().unwrap_or("ClusterSecretStore");
    let data: Vec<Value> = fields
        .iter()
        .map(|(k, path)| json!({"secretKey": k, "remoteRef": {"key": path.secret, "property": k}}))
        .collect();
    let mut out = vec![Resource::new(
        "externalsecret.yaml",
        json!({
            "apiVersion": api,
            "kind": "ExternalSecret",
            "metadata": {"name": secret},
            "spec": {
                "refreshInterval": eso.refresh_interval.as_deref().unwrap_or("1h"),
                "secretStoreRef": {"name": store_name, "kind": store_kind},
                "target": {"name": secret, "creationPolicy": "Owner"},
                "data": data,
            }
        }),
    )];
    if let (true, Some((_, path))) = (eso.store.create, fields.first()) {
        let mut kubernetes = json!({
            "mountPath": config.vault.auth_mount.as_deref().unwrap_or(DEFAULT_AUTH_MOUNT),
            "role": config.vault.role.as_deref().unwrap_or_default(),
        });
        if let Some(sa) = &config.vault.service_account {
            kubernetes["serviceAccountRef"] = json!({"name": sa});
        }
        out.push(Resource::new(
            "secretstore.yaml",
            json!({
                "apiVersion": api,
                "kind": store_kind,
                "metadata": {"name": store_name},
                "spec": {"provider": {"vault": {
                    "server": config.vault.address.as_deref().unwrap_or_default(),
                    "path": path.mount,
                    "version": format!("v{}", path.kv_version),
                    "auth": {"kubernetes": kubernetes},
                }}}
            }),
        ));
    }
    out
}
