//! Every error path of the CLI: non-zero exit, nothing on stdout, one message that names the
//! document, template file, object, container and key where they apply, and no secret value.

use assert_cmd::Command;

const SECRET_VALUE: &str = "s3cr3t-literal-value";

fn deployment(env: &str, annotations: &str) -> String {
    format!(
        "---\n# Source: app/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    metadata:\n      annotations:\n{annotations}    spec:\n      containers:\n      - name: web\n        env:\n{env}"
    )
}

/// Partial mode moving DB_PASSWORD to Secret `synced`: the run most tests here start from.
const PARTIAL: [&str; 6] = ["-m", "partial", "--secret", "synced", "-k", "DB_PASSWORD"];
/// The same key in mount mode.
const MOUNT: [&str; 8] = [
    "-m",
    "mount",
    "--vault-path",
    "kv/app",
    "--role",
    "r",
    "-k",
    "DB_PASSWORD",
];

/// `base` with `more` after it.
fn plus<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    [base, more].concat()
}

fn literal(name: &str) -> String {
    format!("        - name: {name}\n          value: {SECRET_VALUE}\n")
}

fn vaultwire(args: &[&str], stdin: &str) -> std::process::Output {
    Command::cargo_bin("vaultwire")
        .unwrap()
        .args(args)
        .write_stdin(stdin.to_string())
        .output()
        .unwrap()
}

/// Runs vaultwire, expects success; returns (stdout, stderr).
fn succeeds(args: &[&str], stdin: &str) -> (String, String) {
    let out = vaultwire(args, stdin);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// Runs vaultwire and checks the error contract; returns stderr.
fn fails(args: &[&str], stdin: &str, code: i32) -> String {
    let out = vaultwire(args, stdin);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty on error, got {} bytes",
        out.stdout.len()
    );
    assert!(stderr.starts_with("vaultwire: "), "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one message: {stderr}"
    );
    assert!(
        !stderr.contains(SECRET_VALUE),
        "a secret value leaked: {stderr}"
    );
    stderr
}

#[test]
fn bad_yaml_names_the_document_its_file_and_the_line() {
    let good = deployment(&literal("DB_PASSWORD"), "        a: b\n");
    let bad = format!("{good}---\n# Source: app/templates/broken.yaml\nkind: Deployment\nmetadata:\n  name: x\n  password: {SECRET_VALUE}\n   bad: [\n");
    let err = fails(&PARTIAL, &bad, 1);
    assert!(err.contains("document 2"), "{err}");
    assert!(err.contains("app/templates/broken.yaml"), "{err}");
    let line = bad
        .lines()
        .position(|l| l.trim_start().starts_with("bad:"))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("line {line}")), "{err}");
}

#[test]
fn unknown_mode() {
    let err = fails(&["-m", "vault", "--secret", "s", "-k", "K"], "", 2);
    assert!(err.contains("unknown mode 'vault'"), "{err}");
}

#[test]
fn unknown_config_field_suggests_the_right_one() {
    let dir = std::env::temp_dir().join(format!("vaultwire-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vw.yaml");
    std::fs::write(&path, "mode: partial\nexistingSecert: synced\nkeys: [K]\n").unwrap();
    let err = fails(&["-c", path.to_str().unwrap()], "", 2);
    assert!(err.contains("unknown field `existingSecert`"), "{err}");
    assert!(err.contains("did you mean `existingSecret`?"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn conflicting_annotation_names_workload_and_annotation() {
    let input = deployment(
        &literal("DB_PASSWORD"),
        "        vault.hashicorp.com/role: other-role\n",
    );
    let err = fails(&MOUNT, &input, 1);
    assert!(
        err.contains("document 1 (app/templates/deployment.yaml, Deployment 'api')"),
        "{err}"
    );
    assert!(
        err.contains("conflicting annotation vault.hashicorp.com/role"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    // --force overwrites it
    let (stdout, _) = succeeds(&plus(&MOUNT, &["--force"]), &input);
    assert!(stdout.contains("vault.hashicorp.com/role: r\n"), "{stdout}");
}

#[test]
fn full_mode_without_inferable_keys_says_to_list_them() {
    let input = deployment(&literal("DB_PASSWORD"), "        a: b\n");
    let err = fails(&["-m", "full", "--secret", "synced"], &input, 1);
    assert!(
        err.contains("full mode found no configuration keys"),
        "{err}"
    );
    assert!(err.contains("-k KEY"), "{err}");
}

#[test]
fn missing_settings_are_named() {
    assert!(fails(&["-k", "K"], "", 2).contains("no mode"));
    assert!(fails(&["-m", "A", "-k", "K"], "", 2).contains("--secret NAME"));
    assert!(fails(&["-m", "B", "-k", "K", "--role", "r"], "", 2).contains("--vault-path"));
    assert!(fails(&["-m", "partial", "--secret", "s"], "", 2).contains("-k KEY"));
    assert!(
        fails(&["-m", "partial", "--secret", "S_bad", "-k", "K"], "", 2)
            .contains("not a valid Kubernetes name")
    );
    assert!(
        fails(&["-m", "partial", "--secret", "s", "-k", "a/b/c"], "", 2)
            .contains("more than one '/'")
    );
}

#[test]
fn mount_mode_without_a_role_is_an_error_at_the_workload() {
    let input = deployment(&literal("DB_PASSWORD"), "        a: b\n");
    let err = fails(
        &["-m", "mount", "--vault-path", "kv/app", "-k", "DB_PASSWORD"],
        &input,
        2,
    );
    assert!(
        err.contains("Deployment 'api'") && err.contains("--role ROLE"),
        "{err}"
    );
}

#[test]
fn synced_secret_rendered_by_the_chart_is_a_conflict() {
    let secret = "---\n# Source: app/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: synced\nstringData:\n  DB_PASSWORD: x\n";
    let input = format!(
        "{}{secret}",
        deployment(&literal("DB_PASSWORD"), "        a: b\n")
    );
    let err = fails(&PARTIAL, &input, 1);
    assert!(
        err.contains("document 2 (app/templates/secret.yaml, Secret 'synced')"),
        "{err}"
    );
}

#[test]
fn strict_turns_warnings_into_an_error() {
    let input = deployment(&literal("DB_PASSWORD"), "        a: b\n");
    let args = plus(&PARTIAL, &["-k", "NOWHERE"]);
    let (_, stderr) = succeeds(&args, &input);
    assert!(stderr.contains("key NOWHERE is not carried"));
    let err = fails(&plus(&args, &["--strict"]), &input, 1);
    assert!(err.contains("--strict") && err.contains("NOWHERE"), "{err}");
}

#[test]
fn explain_never_prints_a_value() {
    let input = deployment(&literal("DB_PASSWORD"), "        a: b\n");
    for base in [&PARTIAL[..], &MOUNT[..]] {
        let (_, stderr) = succeeds(&plus(base, &["--explain"]), &input);
        assert!(
            stderr.contains("env DB_PASSWORD: literal value ->"),
            "{stderr}"
        );
        assert!(!stderr.contains(SECRET_VALUE), "{stderr}");
    }
}

#[test]
fn report_file_holds_the_change_set_as_json() {
    let input = deployment(&literal("DB_PASSWORD"), "        a: b\n");
    let path = std::env::temp_dir().join(format!("vaultwire-report-{}.json", std::process::id()));
    succeeds(
        &plus(&PARTIAL, &["--report", path.to_str().unwrap()]),
        &input,
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(SECRET_VALUE), "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["option"], "A");
    assert_eq!(report["envChanges"][0]["container"], "web");
    let ops: Vec<&str> = report["patches"][0]["patch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["op"].as_str().unwrap())
        .collect();
    assert!(ops.contains(&"add") && ops.contains(&"remove"), "{ops:?}");
}
