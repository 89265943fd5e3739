//! Every mode on every real Portkey gateway render in `../shared/fixtures/portkey`.

use crate::support::{
    carried_key, check_output, env_key_refs, env_sites, expect_failure, file_name, over_shared,
    pod_templates, read_stream, read_text, run_and_check, run_vaultwire, shared_dir_required,
    stream_config_keys, Checked, Mode, Scenario,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The keys the integration document moves to Vault.
const KEYS: [&str; 4] = [
    "PORTKEY_CLIENT_AUTH",
    "ANALYTICS_STORE_USER",
    "ANALYTICS_STORE_PASSWORD",
    "REDIS_URL",
];
const SECRET: &str = "portkey-gateway-env";
const VAULT_PATH: &str = "kv/data/portkey/gateway/config";
const ROLE: &str = "portkey-gateway";
const GATEWAY: &str = "portkey-gateway";
const DATASERVICE: &str = "portkey-gateway-dataservice";
/// Dataservice env entries that read another key of the config (NOTES.md point 10).
const ALIASES: [&str; 2] = ["CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD"];

struct Fixture {
    /// File name, for messages.
    name: String,
    /// Values file scenario: the part between `--` and the stream suffix.
    scenario: String,
    text: String,
    /// The keys of its scenario's values file (`values_keys`).
    values_keys: Vec<String>,
}

impl Fixture {
    /// The keys of its scenario's values file, as `-k` takes them.
    fn values_keys(&self) -> Vec<&str> {
        self.values_keys.iter().map(String::as_str).collect()
    }
}

/// Every Helm 4 stdin stream and Helm 3 manifest of the Portkey chart, sorted by name.
fn portkey_fixtures(dir: &Path) -> Vec<Fixture> {
    let portkey = dir.join("portkey");
    let mut names: Vec<String> = std::fs::read_dir(&portkey)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", portkey.display()))
        .filter_map(|e| e.ok().map(|e| file_name(&e.path())))
        .filter(|n| n.ends_with(".helm4-stdin.yaml") || n.ends_with(".manifest.yaml"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixtures in {}", portkey.display());
    names
        .into_iter()
        .map(|name| {
            let stem = name
                .trim_end_matches(".helm4-stdin.yaml")
                .trim_end_matches(".manifest.yaml");
            let scenario = stem
                .split_once("--")
                .map(|(_, s)| s.to_string())
                .unwrap_or_else(|| panic!("fixture {name} has no `--<scenario>` part"));
            Fixture {
                text: read_text(&portkey.join(&name)),
                values_keys: values_keys(dir, &scenario),
                name,
                scenario,
            }
        })
        .collect()
}

/// The keys of `environment.data` in the scenario's values file, in file order, less `PORT` and `SERVICE_NAME`:
/// where the chart renders every value as a literal (`lookup`), the gateway's `PORT` "8787"
/// and the dataservice's own `PORT` "8081" are two settings under one name, which vaultwire
/// refuses to merge (tests/it/references.rs).
fn values_keys(dir: &Path, scenario: &str) -> Vec<String> {
    let path = dir.join("portkey/values").join(format!("{scenario}.yaml"));
    let values = crate::support::parse_document(&read_text(&path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let data = values
        .pointer("/environment/data")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{}: no environment.data", path.display()));
    data.keys()
        .filter(|k| !matches!(k.as_str(), "PORT" | "SERVICE_NAME"))
        .cloned()
        .collect()
}

fn portkey_scenario(fixture: &Fixture, mode: Mode, keys: &[&str]) -> Scenario {
    let mut sc = Scenario::new(&fixture.name, mode, keys);
    sc.secret = SECRET.to_string();
    sc.vault_path = VAULT_PATH.to_string();
    sc.role = ROLE.to_string();
    // The Helm 3 manifests hold no hooks (Helm 3 never shows a post-renderer any), and the
    // Portkey chart has none: `portkey_chart_has_no_hooks` checks it on the Helm 4 renders.
    sc.prune_without_hooks = fixture.name.ends_with(".manifest.yaml");
    sc
}

/// Runs a scenario expected to succeed, checks the contract and the Portkey specifics (at least
/// one rewrite, both Deployments rewritten when present, aliases follow their key). Returns how
/// many alias entries were checked.
fn check_portkey_run(
    sc: &Scenario,
    fixture: &Fixture,
    keys: &BTreeSet<String>,
    failures: &mut Vec<String>,
) -> usize {
    let checked = run_and_check(sc, &fixture.text);
    failures.extend(checked.failures.iter().cloned());
    if checked.failures.iter().any(|f| f.contains(": exit ")) {
        return 0; // the run itself failed: nothing more to read
    }
    let label = sc.label();
    if checked.rewrites.is_empty() {
        failures.push(format!("{label}: no env entry was rewritten"));
    }
    let docs = read_stream(&fixture.text).expect("fixture parses");
    for deployment in [GATEWAY, DATASERVICE] {
        let present = docs
            .iter()
            .filter_map(|d| d.ident())
            .any(|i| i.kind == "Deployment" && i.name == deployment);
        if present && !rewritten_in(&checked, deployment) {
            failures.push(format!(
                "{label}: Deployment '{deployment}' is present but none of its env entries was rewritten"
            ));
        }
    }
    check_aliases(&label, &docs, keys, &checked, failures)
}

fn rewritten_in(checked: &Checked, deployment: &str) -> bool {
    checked
        .rewrites
        .iter()
        .any(|r| r.workload.kind == "Deployment" && r.workload.name == deployment)
}

/// In the dataservice, `CLICKHOUSE_*` entries whose keyRef reads a listed key are rewritten to
/// that key (not to their own name).
fn check_aliases(
    label: &str,
    docs: &[crate::support::Document],
    keys: &BTreeSet<String>,
    checked: &Checked,
    failures: &mut Vec<String>,
) -> usize {
    let mut seen = 0;
    for doc in docs {
        let is_dataservice = doc
            .ident()
            .is_some_and(|i| i.kind == "Deployment" && i.name == DATASERVICE);
        if !is_dataservice {
            continue;
        }
        for t in pod_templates(&doc.value) {
            for site in env_sites(&doc.value, &t) {
                if !ALIASES.contains(&site.name.as_str()) {
                    continue;
                }
                let entry = doc.value.pointer(&site.pointer).expect("site exists");
                let Some(key) = crate::support::key_ref(entry).map(|(_, _, k)| k) else {
                    continue;
                };
                if !keys.contains(&key) {
                    continue;
                }
                seen += 1;
                if carried_key(entry, keys).as_deref() != Some(key.as_str()) {
                    failures.push(format!(
                        "{label}: test reading of alias {} is wrong",
                        site.name
                    ));
                }
                let ok = checked
                    .rewrites
                    .iter()
                    .any(|r| r.workload.name == DATASERVICE && r.env == site.name && r.key == key);
                if !ok {
                    failures.push(format!(
                        "{label}: Deployment '{DATASERVICE}' env {} reads {key}: must be rewritten to {key}",
                        site.name
                    ));
                }
            }
        }
    }
    seen
}

fn key_set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

fn listed_keys_in(mode: Mode, test: &str) {
    over_shared(test, |dir, failures| {
        let keys = key_set(&KEYS);
        let mut aliases = 0;
        for fixture in portkey_fixtures(dir) {
            let sc = portkey_scenario(&fixture, mode, &KEYS);
            aliases += check_portkey_run(&sc, &fixture, &keys, failures);
        }
        if aliases == 0 {
            failures.push(format!(
                "{test}: no dataservice alias reading a listed key was found in any fixture"
            ));
        }
    });
}

#[test]
fn partial_mode_rewrites_listed_keys_in_every_fixture() {
    listed_keys_in(
        Mode::Partial,
        "partial_mode_rewrites_listed_keys_in_every_fixture",
    );
}

#[test]
fn mount_mode_injects_listed_keys_in_every_fixture() {
    listed_keys_in(
        Mode::Mount,
        "mount_mode_injects_listed_keys_in_every_fixture",
    );
}

#[test]
fn full_mode_with_listed_keys_rewrites_in_every_fixture() {
    listed_keys_in(
        Mode::Full,
        "full_mode_with_listed_keys_rewrites_in_every_fixture",
    );
}

#[test]
fn full_mode_without_keys_uses_the_streams_own_config_or_asks_for_k() {
    let test = "full_mode_without_keys_uses_the_streams_own_config_or_asks_for_k";
    over_shared(test, |dir, failures| {
        let (mut succeeded, mut refused, mut already) = (0, 0, 0);
        for fixture in portkey_fixtures(dir) {
            let sc = portkey_scenario(&fixture, Mode::Full, &[]);
            let docs = read_stream(&fixture.text).expect("fixture parses");
            let keys = stream_config_keys(&docs);
            let from_synced: BTreeSet<String> = env_key_refs(&docs)
                .into_iter()
                .filter(|(kind, _, name, _)| kind == "Secret" && *name == sc.secret)
                .map(|(_, _, _, key)| key)
                .collect();
            if !keys.is_empty() {
                succeeded += 1;
                check_portkey_run(&sc, &fixture, &keys, failures);
            } else if !from_synced.is_empty() {
                // Already wired to the synced Secret (1.7.7 secretKeys, useVaultInjection): those keys,
                // nothing to rewrite, and a note that says where the keys came from.
                already += 1;
                let checked = run_and_check(&sc, &fixture.text);
                failures.extend(checked.failures);
                let run = run_vaultwire(&sc.args(), &fixture.text);
                if !run
                    .stderr
                    .contains("already reads from 'portkey-gateway-env'")
                {
                    failures.push(format!(
                        "{}: no note about keys already read from the synced Secret: {}",
                        sc.label(),
                        run.stderr
                    ));
                }
            } else {
                refused += 1;
                failures.extend(expect_failure(&sc, &fixture.text, &["-k"]));
            }
        }
        if already == 0 {
            failures.push(format!(
                "{test}: expected renders already wired to the synced Secret"
            ));
        }
        // The base renders reference the chart's own Secret; the Option A/C renders reference none.
        if succeeded == 0 || refused == 0 {
            failures.push(format!(
                "{test}: expected both kinds of fixture, got {succeeded} with in-stream config and {refused} without"
            ));
        }
    });
}

#[test]
fn full_mode_with_every_values_key_rewrites_the_whole_config() {
    let test = "full_mode_with_every_values_key_rewrites_the_whole_config";
    over_shared(test, |dir, failures| {
        for fixture in portkey_fixtures(dir) {
            let listed = fixture.values_keys();
            let sc = portkey_scenario(&fixture, Mode::Full, &listed);
            check_portkey_run(&sc, &fixture, &key_set(&listed), failures);
        }
    });
}

#[test]
fn keep_plaintext_leaves_every_secret_and_configmap_byte_identical() {
    let test = "keep_plaintext_leaves_every_secret_and_configmap_byte_identical";
    over_shared(test, |dir, failures| {
        for fixture in portkey_fixtures(dir) {
            let listed = fixture.values_keys();
            for (mode, keys) in [
                (Mode::Partial, &KEYS[..]),
                (Mode::Mount, &KEYS[..]),
                (Mode::Full, &listed[..]),
            ] {
                let mut sc = portkey_scenario(&fixture, mode, keys);
                sc.keep_plaintext = true;
                check_portkey_run(&sc, &fixture, &key_set(keys), failures);
            }
        }
    });
}

#[test]
fn option_b_role_conflict_fails_unless_forced() {
    let test = "option_b_role_conflict_fails_unless_forced";
    over_shared(test, |dir, failures| {
        let fixtures: Vec<Fixture> = portkey_fixtures(dir)
            .into_iter()
            .filter(|f| f.scenario == "option-b-mount-files")
            .collect();
        if fixtures.is_empty() {
            failures.push(format!("{test}: no option-b-mount-files fixture"));
        }
        let keys = key_set(&KEYS);
        for fixture in &fixtures {
            // The chart already sets vault.hashicorp.com/role: portkey-gateway on its pods.
            let mut sc = portkey_scenario(fixture, Mode::Mount, &KEYS);
            sc.role = "app".to_string();
            failures.extend(expect_failure(
                &sc,
                &fixture.text,
                &["conflict", "vault.hashicorp.com/role"],
            ));
            // --force overwrites it; the general check then requires role "app" on every pod
            // template that carries a key.
            sc.force = true;
            check_portkey_run(&sc, fixture, &keys, failures);
        }
    });
}

/// The checker itself must not be vacuous: real outputs with one planted defect each are refused.
#[test]
fn checker_refuses_planted_defects() {
    let test = "checker_refuses_planted_defects";
    over_shared(test, |dir, failures| {
        let fixture = portkey_fixtures(dir)
            .into_iter()
            .find(|f| f.name == "gateway-1.7.7-main--base.helm4-stdin.yaml")
            .expect("base helm4 fixture");
        for mode in Mode::ALL {
            let sc = portkey_scenario(&fixture, mode, &KEYS);
            let run = crate::support::run_vaultwire(&sc.args(), &fixture.text);
            if !run.success() {
                failures.push(format!(
                    "{}: exit {:?}: {}",
                    sc.label(),
                    run.code,
                    run.stderr
                ));
                continue;
            }
            let (_, clean) = check_output(&sc, &fixture.text, &run.stdout);
            failures.extend(clean.failures);
            for (defect, broken) in planted_defects(mode, &fixture.text, &run.stdout) {
                let (_, checked) = check_output(&sc, &fixture.text, &broken);
                if checked.failures.is_empty() {
                    failures.push(format!("{}: checker accepted {defect}", sc.label()));
                }
            }
        }
    });
}

/// (description, output with that defect).
fn planted_defects(mode: Mode, input: &str, output: &str) -> Vec<(&'static str, String)> {
    let mut defects = vec![
        (
            "a changed Redis Deployment",
            output.replacen("redis:7.2-alpine", "redis:7.4-alpine", 1),
        ),
        (
            "a lost Helm 4 filename annotation",
            output.replacen(
                "    postrenderer.helm.sh/postrender-filename: 'gateway/templates/gateway/service.yaml'\n",
                "",
                1,
            ),
        ),
        (
            "an untouched env entry changed",
            output.replacen("http://portkey-gateway:8787", "http://portkey-gateway:8788", 1),
        ),
    ];
    // A dropped document: cut the last one.
    if let Some(cut) = output.rfind("\n---\n").map(|at| output[..=at].to_string()) {
        defects.push(("a dropped document", cut));
    }
    match mode {
        Mode::Partial | Mode::Full => defects.push((
            "a rewrite to the wrong Secret",
            output.replacen("name: portkey-gateway-env", "name: portkey-gateway-envx", 1),
        )),
        Mode::Mount => {
            // Without agent-inject-file the injector writes the lower-cased name.
            let lowered = output
                .lines()
                .filter(|l| !l.contains("vault.hashicorp.com/agent-inject-file-"))
                .map(|l| format!("{l}\n"))
                .collect::<String>();
            defects.push(("env paths the injector does not write", lowered));
            defects.push((
                "a template reading another key",
                output.replacen(".Data.data.REDIS_URL", ".Data.data.REDIS_MODE", 1),
            ));
        }
    }
    // Plaintext kept: put the input's Secret back in place of the output's.
    let secret_in = crate::support::split_documents(input)
        .into_iter()
        .find(|d| d.contains("kind: Secret"));
    let secret_out = crate::support::split_documents(output)
        .into_iter()
        .find(|d| d.contains("kind: Secret"));
    if let (Some(a), Some(b)) = (secret_in, secret_out) {
        defects.push((
            "plaintext left in the chart Secret",
            output.replacen(&b, &a, 1),
        ));
    }
    defects
}

/// Why the Portkey Helm 3 manifests may be pruned: the chart renders no hook (its Helm 4 renders,
/// which carry every hook, have none).
#[test]
fn portkey_chart_has_no_hooks() {
    let test = "portkey_chart_has_no_hooks";
    let Some(dir) = shared_dir_required(test) else {
        return;
    };
    let helm4: Vec<Fixture> = portkey_fixtures(&dir)
        .into_iter()
        .filter(|f| f.name.ends_with(".helm4-stdin.yaml"))
        .collect();
    assert!(!helm4.is_empty());
    for f in helm4 {
        assert!(!f.text.contains("helm.sh/hook"), "{} has a hook", f.name);
    }
}

/// Helm 3 pipes no hooks to a post-renderer: on sentry's Helm 3 manifest, whose hooks (in its Helm
/// 4 render) read the chart's Secrets, vaultwire keeps every plaintext key and names the objects;
/// `--prune-without-hooks` prunes. The Helm 4 render, hooks in it, is pruned by default.
#[test]
fn helm3_streams_keep_plaintext_that_unseen_hooks_may_read() {
    let test = "helm3_streams_keep_plaintext_that_unseen_hooks_may_read";
    let Some(dir) = shared_dir_required(test) else {
        return;
    };
    let helm3 = read_text(&dir.join("charts/sentry.manifest.yaml"));
    let helm4 = read_text(&dir.join("charts/sentry.helm4-stdin.yaml"));
    assert!(!helm3.contains("helm.sh/hook") && helm4.contains("\"helm.sh/hook\": "));
    let full = ["-m", "full", "--secret", "synced"];
    let kept = run_vaultwire(&full, &helm3);
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);
    assert!(
        kept.stderr.contains("this Helm 3 stream holds no hook")
            && kept.stderr.contains("Secret 'rel1-sentry-"),
        "{}",
        kept.stderr
    );
    assert_eq!(
        kept.stdout.matches("kind: Secret").count(),
        helm3.matches("kind: Secret").count(),
        "no Secret dropped"
    );
    let pruned = run_vaultwire(&[&full[..], &["--prune-without-hooks"]].concat(), &helm3);
    assert_eq!(pruned.code, Some(0), "{}", pruned.stderr);
    assert!(!pruned.stderr.contains("holds no hook"));
    assert!(
        pruned.stdout.len() < kept.stdout.len(),
        "pruning removed nothing"
    );
    let four = run_vaultwire(&full, &helm4);
    assert_eq!(four.code, Some(0), "{}", four.stderr);
    assert!(!four.stderr.contains("holds no hook"), "{}", four.stderr);
}
