//! EXPERIMENTAL: vaultwire as a Helm 4 Wasm post-renderer plugin (`runtime: extism/v1`).
//!
//! Helm calls `helm_plugin_main` with `{"manifests": "<stream>", "extraArgs": [...]}` and reads
//! `{"manifests": "<stream>"}` back. `extraArgs` are `--post-renderer-args`; this plugin takes
//! the config file's text there (`--post-renderer-args="$(cat vaultwire.yaml)"`), since an
//! extism plugin cannot read the caller's files.
//!
//! Helm 4 through 4.3.1 (checked with the real CLI) sends the manifests as `{}` (helm/helm#31832:
//! a `*bytes.Buffer` marshals to `{}`): the stream is lost before the plugin sees it. Passing an empty stream back would deploy nothing, so the plugin fails with a
//! message that names the bug and the subprocess plugin that works on every Helm 4.
#![forbid(unsafe_code)]

use extism_pdk::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    #[serde(default)]
    manifests: Value,
    #[serde(default)]
    extra_args: Vec<String>,
}

#[derive(Serialize)]
struct Output {
    manifests: String,
}

const BROKEN_SHAPE: &str = "Helm sent the manifests as a JSON object instead of the rendered \
stream: this is helm/helm#31832 (Helm 4 through 4.3.1 sends Wasm post-renderers {\"manifests\":{}}), \
so there is nothing to wire; use vaultwire's subprocess post-renderer plugin instead \
(runtime: subprocess, the native vaultwire binary) or a Helm release with the fix";

/// The post-render step without extism types: the output JSON, or the message to fail with.
pub fn post_render(input: &str) -> Result<String, String> {
    let input: Input =
        serde_json::from_str(input).map_err(|e| format!("vaultwire: input is not JSON: {e}"))?;
    let manifests = match input.manifests {
        Value::String(s) => s,
        Value::Object(_) | Value::Null => return Err(format!("vaultwire: {BROKEN_SHAPE}")),
        other => {
            return Err(format!(
                "vaultwire: \"manifests\" is a {}, expected the rendered stream as a string",
                kind(&other)
            ))
        }
    };
    let config = vaultwire::Config::from_yaml(&input.extra_args.join("\n"))
        .and_then(|c| vaultwire::run(&manifests, &c))
        .map_err(|e| format!("vaultwire: {e}"))?;
    serde_json::to_string(&Output {
        manifests: config.stream,
    })
    .map_err(|e| format!("vaultwire: {e}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        _ => "value",
    }
}

#[plugin_fn]
pub fn helm_plugin_main(input: String) -> FnResult<String> {
    post_render(&input).map_err(|m| WithReturnCode::new(Error::msg(m), 1))
}
