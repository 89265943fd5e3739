//! The project's own example chart (`examples/`), rendered by real Helm 4: snapshots of what
//! `--explain` says in each mode, and the facts the README promises.

use std::path::PathBuf;

use vaultwire::{Config, Output};

fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(config: &str, stream: &str) -> Output {
    let cfg = Config::from_yaml(&example(config)).unwrap();
    vaultwire::run(&example(stream), &cfg).unwrap()
}

/// The document of the output stream that holds `needle`.
fn document<'a>(stream: &'a str, needle: &str) -> &'a str {
    stream
        .split("\n---")
        .find(|d| d.contains(needle))
        .unwrap_or_else(|| panic!("no document with {needle}"))
}

#[test]
fn explain_snapshots() {
    for mode in ["partial", "mount", "full"] {
        let out = run(
            &format!("vaultwire-{mode}.yaml"),
            "portkey-mini.helm4-stdin.yaml",
        );
        insta::assert_snapshot!(format!("explain_{mode}"), out.report.explain());
    }
}

#[test]
fn mount_mode_gateway_document_snapshot() {
    let out = run("vaultwire-mount.yaml", "portkey-mini.helm4-stdin.yaml");
    insta::assert_snapshot!(document(
        &out.stream,
        "kind: Deployment\nmetadata:\n  name: portkey-gateway\n"
    ));
}

#[test]
fn hook_job_is_post_rendered_and_pre_populates_only() {
    let out = run("vaultwire-mount.yaml", "portkey-mini.helm4-stdin.yaml");
    let job = document(&out.stream, "kind: Job");
    assert!(
        job.contains("vault.hashicorp.com/agent-pre-populate-only: \"true\""),
        "{job}"
    );
    assert!(job.contains(
        "postrenderer.helm.sh/postrender-filename: portkey-mini/templates/migrate-job.yaml"
    ));
    let gateway = document(
        &out.stream,
        "kind: Deployment\nmetadata:\n  name: portkey-gateway\n",
    );
    assert!(
        !gateway.contains("agent-pre-populate-only"),
        "a Deployment keeps its sidecar"
    );
}

#[test]
fn redis_and_services_stay_byte_identical() {
    let input = example("portkey-mini.helm4-stdin.yaml");
    for mode in ["partial", "mount", "full"] {
        let out = run(
            &format!("vaultwire-{mode}.yaml"),
            "portkey-mini.helm4-stdin.yaml",
        );
        for doc in input
            .split("---\n")
            .filter(|d| d.contains("kind: Service") || d.contains("name: portkey-redis"))
        {
            assert!(out.stream.contains(doc), "{mode}: changed:\n{doc}");
        }
    }
}

#[test]
fn full_mode_drops_the_emptied_chart_secret_and_says_so() {
    let out = run("vaultwire-full.yaml", "portkey-mini.helm4-stdin.yaml");
    assert!(
        !out.stream.contains("kind: Secret"),
        "the chart's plaintext Secret should be gone"
    );
    assert_eq!(out.report.dropped_documents.len(), 1);
    assert_eq!(out.report.dropped_documents[0].kind, "Secret");
    assert!(out
        .report
        .explain()
        .contains("dropped: it is empty and nothing references it"));
    let mut keep = Config::from_yaml(&example("vaultwire-full.yaml")).unwrap();
    keep.keep_plaintext = true;
    let kept = vaultwire::run(&example("portkey-mini.helm4-stdin.yaml"), &keep).unwrap();
    assert!(kept.stream.contains("kind: Secret"));
    assert!(kept.report.dropped_documents.is_empty() && kept.report.removed_keys.is_empty());
}

#[test]
fn helm3_manifest_keeps_source_comments() {
    let out = run("vaultwire-mount.yaml", "portkey-mini.manifest.yaml");
    let input = example("portkey-mini.manifest.yaml");
    let sources = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with("# Source:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(sources(&out.stream), sources(&input));
}

#[test]
fn configmap_render_in_partial_mode() {
    let out = run(
        "vaultwire-partial.yaml",
        "portkey-mini-configmap.helm4-stdin.yaml",
    );
    let gateway = document(
        &out.stream,
        "kind: Deployment\nmetadata:\n  name: portkey-gateway\n",
    );
    assert!(
        gateway.contains(
            "secretKeyRef:\n              name: portkey-gateway-env\n              key: REDIS_URL"
        ),
        "{gateway}"
    );
    assert!(
        gateway.contains("configMapKeyRef"),
        "unlisted keys stay in the ConfigMap"
    );
    let removed: Vec<&str> = out
        .report
        .removed_keys
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(removed.len(), 4, "{removed:?}");
}

#[test]
fn report_json_patch_applies_to_the_input() {
    let out = run("vaultwire-partial.yaml", "portkey-mini.helm4-stdin.yaml");
    assert!(!out.report.patches.is_empty());
    let input = example("portkey-mini.helm4-stdin.yaml");
    for p in &out.report.patches {
        let doc = input.split("---\n").nth(p.at.document - 1).unwrap();
        let mut value: serde_json::Value = serde_saphyr::from_str(doc).unwrap();
        json_patch::patch(&mut value, &p.patch).unwrap();
        let after = document(
            &out.stream,
            &format!("kind: {}\nmetadata:\n  name: {}\n", p.at.kind, p.at.name),
        );
        let expected: serde_json::Value = serde_saphyr::from_str(after).unwrap();
        assert_eq!(value, expected, "patch of document {}", p.at.document);
    }
    let json = serde_json::to_string(&out.report).unwrap();
    for secret in [
        "pk-example-client-auth",
        "example-password",
        "ZXhhbXBsZS1wYXNzd29yZA==",
    ] {
        assert!(!json.contains(secret), "report leaks {secret}");
    }
}
