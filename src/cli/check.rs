//! `vaultwire check`: reads the wired stream (stdin), asks Vault for every path it reads, and
//! says which key is missing or which path is denied, before anything is deployed. Native only:
//! the WASM builds have no network. Values read from Vault are never printed, nor is the token.
//!
//! The token goes only to the origin (scheme, host, port) of the configured address. ureq
//! follows no redirect itself: `fetch` follows a few, and only within that origin. A Vault
//! standby answers 307 to the active node, which is usually another origin; that read fails
//! and says where to point the address instead of sending the token there.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde_json::Value;
use ureq::http::Uri;
use vaultwire::reads::{vault_reads, VaultRead};
use vaultwire::{Error, ErrorKind};

/// The outcome of reading one path.
enum Fetched {
    Data(Value),
    Failed(String),
}

/// Redirects followed for one read, all within the configured origin.
const MAX_REDIRECTS: usize = 5;

/// `strict`: plain http to a host that is not loopback is an error rather than a warning.
pub fn run(
    input: &str,
    address: Option<&str>,
    token: Option<&str>,
    strict: bool,
) -> Result<(), Error> {
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
    let home = address
        .parse::<Uri>()
        .ok()
        .and_then(|uri| Origin::of(&uri))
        .ok_or_else(|| {
            Error::config(format!(
                "check: Vault address '{address}' is not an http:// or https:// URL with a host"
            ))
        })?;
    if home.scheme == "http" && !is_loopback(&home.host) {
        let why = format!(
            "{home} is plain http to a host that is not loopback: the token would travel in clear text"
        );
        if strict {
            return Err(Error::new(
                ErrorKind::Strict,
                format!("check --strict: {why}"),
            ));
        }
        // Still run: Vault dev servers and some private networks speak plain http.
        eprintln!("vaultwire check: warning: {why}");
    }
    let reads = vault_reads(input)?;
    if reads.is_empty() {
        println!("vaultwire check: the stream reads nothing from Vault");
        return Ok(());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        // 0: ureq returns every 3xx as it is (never an error); `fetch` decides what to follow.
        .max_redirects(0)
        .build()
        .into();
    let mut fetched: BTreeMap<String, Fetched> = BTreeMap::new();
    let mut failures = 0;
    for read in &reads {
        let result = fetched
            .entry(read.api_path.clone())
            .or_insert_with(|| fetch(&agent, &address, &home, &token, &read.api_path));
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

fn fetch(
    agent: &ureq::Agent,
    address: &str,
    home: &Origin,
    token: &str,
    api_path: &str,
) -> Fetched {
    let url = format!(
        "{}/v1/{}",
        address.trim_end_matches('/'),
        api_path.trim_start_matches('/')
    );
    let Ok(mut url) = url.parse::<Uri>() else {
        return Fetched::Failed(format!("'{api_path}' does not make a valid URL path"));
    };
    for _ in 0..=MAX_REDIRECTS {
        let response = agent.get(&url).header("X-Vault-Token", token).call();
        let mut response = match response {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(format!("cannot reach Vault at {address}: {e}")),
        };
        let status = response.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok());
            let Some(next) = location.and_then(|l| resolve(&url, l)) else {
                return Fetched::Failed(format!(
                    "Vault answered HTTP {status} without a usable Location"
                ));
            };
            match Origin::of(&next) {
                Some(there) if there == *home => {
                    url = next;
                    continue;
                }
                there => return Fetched::Failed(cross_origin(home, there, status)),
            }
        }
        return match status {
            200 => match response.body_mut().read_json::<Value>() {
                Ok(body) => Fetched::Data(body),
                Err(e) => Fetched::Failed(format!("unreadable answer from Vault: {e}")),
            },
            403 => Fetched::Failed(
                "permission denied: the token's policies do not allow reading this path".into(),
            ),
            404 => Fetched::Failed("no secret at this path".into()),
            other => Fetched::Failed(format!("Vault answered HTTP {other}")),
        };
    }
    Fetched::Failed(format!(
        "Vault redirected more than {MAX_REDIRECTS} times within {home}"
    ))
}

fn cross_origin(home: &Origin, there: Option<Origin>, status: u16) -> String {
    let there = there.map_or_else(
        || "a URL that is not http(s)".to_string(),
        |o| o.to_string(),
    );
    format!(
        "Vault at {home} redirected (HTTP {status}) to another origin, {there}, which vaultwire \
         does not follow with the token (a standby points at the active node this way): point \
         --vault-addr or VAULT_ADDR at the active node or at a load balancer"
    )
}

/// Scheme, host and port: where the token may go. Hosts compare as written (lower-cased), so
/// `localhost` and `127.0.0.1` are two origins, as in a browser; `https` to `http` is another
/// origin too.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `None` unless `uri` is absolute, http or https, with a host.
    fn of(uri: &Uri) -> Option<Origin> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(default);
        Some(Origin { scheme, host, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and `localhost`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// The URL a `Location` header names, resolved against the request's URL (RFC 9110 10.2.2,
/// RFC 3986 5.2): absolute, `//authority/path`, `/path`, `?query` or a relative path. The
/// fragment is dropped (never sent). Dot segments are left to the server: they cannot change
/// the origin, which is all `fetch` decides on.
fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let location = location.split('#').next().unwrap_or_default();
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let path = base.path();
    let has_scheme = location.split_once(':').is_some_and(|(s, _)| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    let url = if has_scheme {
        location.to_string()
    } else if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.is_empty() || location.starts_with('?') {
        let query = if location.is_empty() {
            base.query().map(|q| format!("?{q}")).unwrap_or_default()
        } else {
            location.to_string()
        };
        format!("{scheme}://{authority}{path}{query}")
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{location}")
    };
    url.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(url: &str) -> Option<Origin> {
        Origin::of(&url.parse().unwrap())
    }

    fn resolved(base: &str, location: &str) -> Option<String> {
        resolve(&base.parse().unwrap(), location).map(|u| u.to_string())
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        let home = origin("https://Vault.Example:8200/v1/kv").unwrap();
        assert_eq!(home.to_string(), "https://vault.example:8200");
        assert_eq!(origin("https://vault.example:8200/v1/other"), Some(home));
        let cases = [
            ("https://vault.example", "https://vault.example:443"),
            ("http://vault.example", "http://vault.example:80"),
            ("http://[::1]:8200/v1", "http://[::1]:8200"),
            (
                "http://user@vault.example:8200",
                "http://vault.example:8200",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(origin(url).unwrap().to_string(), want, "{url}");
        }
        let differ = [
            ("https://vault.example:8200", "http://vault.example:8200"), // downgrade
            ("https://vault.example:8200", "https://vault.example:8201"),
            ("https://vault.example:8200", "https://active.example:8200"),
            ("http://127.0.0.1:8200", "http://localhost:8200"),
            ("https://vault.example", "https://vault.example:8443"),
        ];
        for (a, b) in differ {
            assert_ne!(origin(a), origin(b), "{a} vs {b}");
        }
        assert_eq!(
            origin("https://vault.example:443"),
            origin("https://vault.example")
        );
        for bad in [
            "ftp://vault.example/",
            "/v1/kv",
            "vault.example:8200",
            "unix:/run/vault",
        ] {
            assert_eq!(
                bad.parse::<Uri>().ok().and_then(|u| Origin::of(&u)),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.3.2.1",
            "[::1]",
            "localhost",
            "LOCALHOST",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "128.0.0.1",
            "[::2]",
            "vault.invalid",
            "localhost.example",
            "0.0.0.0",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let base = "http://127.0.0.1:8200/v1/kv/data/app?version=2";
        let cases = [
            (
                "http://10.0.0.2:8200/v1/kv/data/app",
                "http://10.0.0.2:8200/v1/kv/data/app",
            ),
            ("HTTPS://vault.example/v1/x", "https://vault.example/v1/x"),
            ("//other:9/v1/x", "http://other:9/v1/x"),
            ("/v1/moved", "http://127.0.0.1:8200/v1/moved"),
            ("/v1/moved#frag", "http://127.0.0.1:8200/v1/moved"),
            ("moved", "http://127.0.0.1:8200/v1/kv/data/moved"),
            (
                "../moved?x=1",
                "http://127.0.0.1:8200/v1/kv/data/../moved?x=1",
            ),
            (
                "?version=3",
                "http://127.0.0.1:8200/v1/kv/data/app?version=3",
            ),
            ("", "http://127.0.0.1:8200/v1/kv/data/app?version=2"),
        ];
        for (location, want) in cases {
            assert_eq!(
                resolved(base, location).as_deref(),
                Some(want),
                "{location:?}"
            );
        }
        // a host:port without a scheme reads as scheme `localhost`: not http(s), not followed
        let odd = resolve(&base.parse().unwrap(), "localhost:8200/v1/x");
        assert_eq!(odd.and_then(|u| Origin::of(&u)), None);
        assert_eq!(resolved(base, "http://bad host/"), None);
    }
}
