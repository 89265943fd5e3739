//! `vaultwire check`: reads the wired stream (stdin), asks Vault for every path it reads, and
//! says which key is missing or which path is denied, before anything is deployed. Native only:
//! the WASM builds have no network. Values read from Vault are never printed.

use std::collections::BTreeMap;

use serde_json::Value;
use vaultwire::reads::{vault_reads, VaultRead};
use vaultwire::{Error, ErrorKind};

/// The outcome of reading one path.
enum Fetched {
    Data(Value),
    Failed(String),
}

pub fn run(input: &str, address: Option<&str>, token: Option<&str>) -> Result<(), Error> {
    let address = address
        .map(str::to_string)
        .or_else(|| std::env::var("VAULT_ADDR").ok())
        .or_else(|| std::env::var("BAO_ADDR").ok())
        .ok_or_else(|| {
            Error::config("check needs the Vault address: pass --vault-addr URL or set VAULT_ADDR")
        })?;
    let token = token
        .map(str::to_string)
        .or_else(|| std::env::var("VAULT_TOKEN").ok())
        .or_else(|| std::env::var("BAO_TOKEN").ok())
        .ok_or_else(|| {
            Error::config("check needs a Vault token: pass --token or set VAULT_TOKEN")
        })?;
    let reads = vault_reads(input)?;
    if reads.is_empty() {
        println!("vaultwire check: the stream reads nothing from Vault");
        return Ok(());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    let mut fetched: BTreeMap<String, Fetched> = BTreeMap::new();
    let mut failures = 0;
    for read in &reads {
        let result = fetched
            .entry(read.api_path.clone())
            .or_insert_with(|| fetch(&agent, &address, &token, &read.api_path));
        let verdict = match result {
            Fetched::Failed(why) => Err(why.clone()),
            Fetched::Data(data) => has_key(data, read),
        };
        let what = if read.key.is_empty() {
            read.api_path.clone()
        } else {
            format!("{} key {}", read.api_path, read.key)
        };
        let at = format!(
            "document {} ({} '{}', {})",
            read.at.document, read.at.kind, read.at.name, read.via
        );
        match verdict {
            Ok(()) => println!("ok   {what}: {at}"),
            Err(why) => {
                failures += 1;
                println!("FAIL {what}: {why}: {at}");
            }
        }
    }
    if failures == 0 {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Findings,
            format!(
                "check: {failures} of {} Vault reads would fail",
                reads.len()
            ),
        ))
    }
}

fn fetch(agent: &ureq::Agent, address: &str, token: &str, api_path: &str) -> Fetched {
    let url = format!(
        "{}/v1/{}",
        address.trim_end_matches('/'),
        api_path.trim_start_matches('/')
    );
    let response = agent.get(&url).header("X-Vault-Token", token).call();
    let mut response = match response {
        Ok(r) => r,
        Err(e) => return Fetched::Failed(format!("cannot reach Vault at {address}: {e}")),
    };
    match response.status().as_u16() {
        200 => match response.body_mut().read_json::<Value>() {
            Ok(body) => Fetched::Data(body),
            Err(e) => Fetched::Failed(format!("unreadable answer from Vault: {e}")),
        },
        403 => Fetched::Failed(
            "permission denied: the token's policies do not allow reading this path".into(),
        ),
        404 => Fetched::Failed("no secret at this path".into()),
        other => Fetched::Failed(format!("Vault answered HTTP {other}")),
    }
}

/// KV v2 answers `{"data": {"data": {...}}}`, KV v1 `{"data": {...}}`.
fn has_key(body: &Value, read: &VaultRead) -> Result<(), String> {
    if read.key.is_empty() {
        return Ok(());
    }
    let v2 = body
        .pointer("/data/data")
        .filter(|d| d.is_object() && read.kv_version != Some(1));
    let data = v2.or_else(|| body.get("data"));
    match data.and_then(|d| d.get(&read.key)) {
        Some(_) => Ok(()),
        None => {
            Err("the secret has no such key (the agent would render <no value> or fail)".into())
        }
    }
}
