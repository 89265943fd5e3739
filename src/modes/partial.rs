//! Option A: each entry carrying a listed key reads it from the Secret the operator syncs from
//! Vault; everything else stays as rendered. Deterministic, so it also works where the chart's
//! own `lookup` cannot (`helm template`, client dry-runs, GitOps).

use serde_json::{json, Value};

use crate::document::Document;
use crate::error::{Error, ErrorKind, Result};
use crate::modes::{PodFiles, Wiring};
use crate::report::Report;
use crate::workload::{kind_of, name_of, objects};

/// Env entries become `secretKeyRef`s into one synced Secret (partial and full modes).
pub struct SyncedSecret {
    pub secret: String,
}

impl Wiring for SyncedSecret {
    fn pod_context(&self, _pod: &Value) -> String {
        String::new()
    }

    fn entry(&self, _context: &str, env_name: &str, field: &str) -> Value {
        json!({"name": env_name, "valueFrom": {"secretKeyRef": {"name": self.secret, "key": field}}})
    }

    fn wired_field(&self, _context: &str, entry: &Value) -> Option<String> {
        let r = entry.pointer("/valueFrom/secretKeyRef")?;
        (r.get("name").and_then(Value::as_str) == Some(self.secret.as_str()))
            .then(|| r.get("key").and_then(Value::as_str).map(str::to_string))
            .flatten()
    }

    fn finish_pod(&self, _: &mut Value, _: PodFiles<'_>, _: &mut Report) -> Result<()> {
        Ok(())
    }
}

impl SyncedSecret {
    /// The synced Secret must not be one the chart renders: Helm and the operator would both own
    /// it, and the chart's plaintext would win on every upgrade.
    pub fn check_not_rendered(&self, docs: &[Document<'_>]) -> Result<()> {
        for doc in docs {
            for obj in doc.value.iter().flat_map(objects) {
                if kind_of(obj) == "Secret" && name_of(obj) == self.secret {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "the chart renders the Secret '{}' itself; point vaultwire at the Secret your operator syncs from Vault (a name the chart does not render)",
                            self.secret
                        ),
                    )
                    .at(doc.place()));
                }
            }
        }
        Ok(())
    }
}
