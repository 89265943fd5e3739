//! The contract on a chart that is not Portkey: podinfo's default render
//! (`../shared/fixtures/charts/podinfo.*`), release `rel1`, namespace `apps`.
//!
//! Its Deployment sets `PODINFO_UI_COLOR` as a literal; its Helm test hook Pods (only in the
//! Helm 4 stream, Helm 3 leaves hooks out) set `PODINFO_SVC`. No Secret or ConfigMap is rendered.

use crate::support::{
    expect_failure, over_shared, read_text, run_and_check, Checked, Mode, Scenario,
};
use std::path::Path;

const FIXTURES: [&str; 2] = ["podinfo.helm4-stdin.yaml", "podinfo.manifest.yaml"];
const DEPLOYMENT_KEY: &str = "PODINFO_UI_COLOR";
const HOOK_KEY: &str = "PODINFO_SVC";
const DEPLOYMENT: &str = "rel1-podinfo";

fn podinfo_scenario(fixture: &str, mode: Mode, keys: &[&str]) -> Scenario {
    let mut sc = Scenario::new(fixture, mode, keys);
    sc.secret = "podinfo-vault".to_string();
    sc.vault_path = "kv/data/apps/podinfo".to_string();
    sc.role = "podinfo".to_string();
    sc
}

fn fixture_text(dir: &Path, name: &str) -> String {
    read_text(&dir.join("charts").join(name))
}

fn require_rewrite(
    checked: &Checked,
    sc: &Scenario,
    kind: &str,
    name: &str,
    out: &mut Vec<String>,
) {
    let found = checked
        .rewrites
        .iter()
        .any(|r| r.workload.kind == kind && r.workload.name == name);
    if !found {
        out.push(format!(
            "{}: {kind} '{name}' should have an env entry rewritten",
            sc.label()
        ));
    }
}

fn check(sc: &Scenario, text: &str, failures: &mut Vec<String>) -> Checked {
    let checked = run_and_check(sc, text);
    failures.extend(checked.failures.iter().cloned());
    if checked.rewrites.is_empty() {
        failures.push(format!("{}: no env entry was rewritten", sc.label()));
    }
    checked
}

/// The Deployment's key on every fixture in every mode, with or without --keep-plaintext: the
/// contract holds and the Deployment is rewritten.
fn deployment_key_everywhere(test: &str, keep_plaintext: bool) {
    over_shared(test, |dir, failures| {
        for fixture in FIXTURES {
            let text = fixture_text(dir, fixture);
            for mode in Mode::ALL {
                let mut sc = podinfo_scenario(fixture, mode, &[DEPLOYMENT_KEY]);
                sc.keep_plaintext = keep_plaintext;
                let checked = check(&sc, &text, failures);
                require_rewrite(&checked, &sc, "Deployment", DEPLOYMENT, failures);
            }
        }
    });
}

#[test]
fn podinfo_deployment_key_in_every_mode() {
    deployment_key_everywhere("podinfo_deployment_key_in_every_mode", false);
}

/// Helm 4 includes the test hook Pods: in mount mode their agent must pre-populate only.
#[test]
fn podinfo_hook_pods_in_every_mode() {
    over_shared("podinfo_hook_pods_in_every_mode", |dir, failures| {
        let fixture = FIXTURES[0];
        let text = fixture_text(dir, fixture);
        for mode in Mode::ALL {
            let sc = podinfo_scenario(fixture, mode, &[DEPLOYMENT_KEY, HOOK_KEY]);
            let checked = check(&sc, &text, failures);
            require_rewrite(&checked, &sc, "Deployment", DEPLOYMENT, failures);
            for pod in [
                "rel1-podinfo-jwt-test-y2m0z",
                "rel1-podinfo-service-test-qd6ou",
            ] {
                require_rewrite(&checked, &sc, "Pod", pod, failures);
            }
        }
    });
}

#[test]
fn podinfo_keep_plaintext_changes_only_the_workload() {
    deployment_key_everywhere("podinfo_keep_plaintext_changes_only_the_workload", true);
}

/// podinfo renders no Secret or ConfigMap, so `full` has no keys to take from the stream.
#[test]
fn podinfo_full_without_keys_asks_for_k() {
    over_shared("podinfo_full_without_keys_asks_for_k", |dir, failures| {
        for fixture in FIXTURES {
            let sc = podinfo_scenario(fixture, Mode::Full, &[]);
            failures.extend(expect_failure(&sc, &fixture_text(dir, fixture), &["-k"]));
        }
    });
}
