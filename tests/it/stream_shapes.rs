//! Streams in every shape a renderer may produce: Lists, CRLF, a BOM, flow style, anchors,
//! comment-only and non-Kubernetes documents, YAML 1.1 look-alike strings.

use crate::support;
use vaultwire::{Config, ErrorKind, Mode};

fn partial() -> Config {
    Config {
        mode: Some(Mode::Partial),
        keys: vec!["DB_PASSWORD".into()],
        existing_secret: Some("synced".into()),
        ..Config::default()
    }
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    env:\n    - name: DB_PASSWORD\n      value: x\n    - name: FLAG\n      value: \"on\"\n    - name: MODE\n      value: \"0644\"\n    - name: NOTHING\n      value: \"~\"\n";

fn synced_ref(text: &str) -> bool {
    text.contains("secretKeyRef:")
        && text.contains("name: synced")
        && text.contains("key: DB_PASSWORD")
}

#[test]
fn yaml_1_1_look_alikes_stay_strings_in_a_rewritten_document() {
    let out = vaultwire::run(POD, &partial()).unwrap().stream;
    assert!(synced_ref(&out), "{out}");
    let v: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
    let env = &v["spec"]["containers"][0]["env"];
    assert_eq!(env[1]["value"], "on");
    assert_eq!(env[2]["value"], "0644");
    assert_eq!(env[3]["value"], "~");
}

#[test]
fn list_items_are_transformed() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: d\n  spec:\n    template:\n      spec:\n        containers:\n        - name: c\n          env:\n          - name: DB_PASSWORD\n            value: x\n";
    let out = vaultwire::run(list, &partial()).unwrap();
    assert!(synced_ref(&out.stream), "{}", out.stream);
    assert_eq!(out.report.env_changes[0].at.kind, "Deployment");
    assert_eq!(out.report.env_changes[0].at.name, "d");
}

#[test]
fn crlf_and_bom_are_kept() {
    let service = "---\r\napiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: s\r\n";
    let input = format!("\u{feff}{}{service}", POD.replace('\n', "\r\n"));
    let out = vaultwire::run(&input, &partial()).unwrap().stream;
    assert!(out.starts_with('\u{feff}'));
    assert!(
        out.ends_with(service),
        "the untouched Service keeps its bytes"
    );
    assert!(
        !out.replace("\r\n", "").contains('\n'),
        "every line of the rewritten document ends in CRLF"
    );
    assert!(synced_ref(&out.replace("\r\n", "\n")));
}

#[test]
fn flow_style_and_quoted_documents_are_read() {
    let flow = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "env": [{"name": "DB_PASSWORD", "value": "x"}]}]}}"#;
    let out = vaultwire::run(flow, &partial()).unwrap().stream;
    assert!(synced_ref(&out), "{out}");
}

#[test]
fn anchors_expand_and_alias_bombs_are_refused() {
    let anchored = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    env: &env\n    - name: DB_PASSWORD\n      value: x\n  initContainers:\n  - name: i\n    env: *env\n";
    let out = vaultwire::run(anchored, &partial()).unwrap();
    assert_eq!(
        out.report.env_changes.len(),
        2,
        "both the anchor and its alias are rewritten"
    );
    let mut bomb = String::from("kind: ConfigMap\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let err = vaultwire::run(&bomb, &partial()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Yaml, "{err}");
    assert!(err.to_string().starts_with("document 1"), "{err}");
}

#[test]
fn blank_comment_and_foreign_documents_pass_through() {
    let input = format!("---\n# just a comment\n---\n---\nfoo: [1, 2]\nbar: baz\n---\n{POD}---\nkind: Service\nmetadata: {{name: s}} # a comment\n...\n");
    let out = vaultwire::run(&input, &partial()).unwrap().stream;
    assert!(
        out.starts_with("---\n# just a comment\n---\n---\nfoo: [1, 2]\nbar: baz\n---\n"),
        "{out}"
    );
    assert!(
        out.ends_with("---\nkind: Service\nmetadata: {name: s} # a comment\n...\n"),
        "{out}"
    );
    let empty = vaultwire::run("", &partial()).unwrap();
    assert_eq!(empty.stream, "");
}

#[test]
fn mount_mode_details() {
    let mut c = Config {
        mode: Some(Mode::Mount),
        keys: vec!["tls.key".into(), "DB_PASSWORD".into()],
        ..Config::default()
    };
    c.vault.secret_path = Some("secret/app".into());
    c.vault.kv_version = Some(1);
    c.vault.role = Some("r".into());
    c.vault
        .annotations
        .insert("auth-path".into(), "auth/k8s".into());
    let pod = POD.replace("    env:\n", "    env:\n    - name: TLS\n      valueFrom:\n        secretKeyRef: {name: certs, key: tls.key}\n")
        .replace("metadata:\n  name: p\n", "metadata:\n  name: p\n  annotations:\n    vault.hashicorp.com/secret-volume-path: /etc/secrets\n")
        .replace("spec:\n  containers:", "spec:\n  restartPolicy: Never\n  containers:");
    let out = vaultwire::run(&pod, &c).unwrap();
    let s = &out.stream;
    assert!(
        s.contains("value: /etc/secrets/tls.key"),
        "the pod's own volume path is followed:\n{s}"
    );
    let v: serde_json::Value = serde_saphyr::from_str(s).unwrap();
    let ann = &v["metadata"]["annotations"];
    let tls = ann["vault.hashicorp.com/agent-inject-template-tls.key"]
        .as_str()
        .unwrap();
    assert!(
        tls.contains(r#"{{ index .Data "tls.key" }}"#),
        "KV v1 and a non-identifier key: {tls}"
    );
    let db = ann["vault.hashicorp.com/agent-inject-template-db_password"]
        .as_str()
        .unwrap();
    assert!(db.contains("{{ .Data.DB_PASSWORD }}"), "{db}");
    assert!(s.contains("vault.hashicorp.com/auth-path: auth/k8s"), "{s}");
    assert!(
        s.contains("vault.hashicorp.com/agent-pre-populate-only: \"true\""),
        "a Pod that restarts never is run-once:\n{s}"
    );
    // KV v2 given without data/ says how it read the path
    c.vault.kv_version = None;
    c.vault.secret_path = Some("kv/app/config".into());
    let out = vaultwire::run(&pod, &c).unwrap();
    assert_eq!(
        out.report.notes,
        vec!["KV v2 path 'kv/app/config' read as 'kv/data/app/config'".to_string()]
    );
    assert!(out
        .stream
        .contains("agent-inject-secret-db_password: kv/data/app/config"));
}

#[test]
fn targets_select_workloads_and_containers() {
    let two = format!(
        "{POD}---\n{}",
        POD.replace("name: p\n", "name: q\n  labels: {tier: web}\n")
            .replace("- name: c\n", "- name: sidecar\n")
    );
    let run = |f: &dyn Fn(&mut Config)| {
        let mut c = partial();
        f(&mut c);
        let out = vaultwire::run(&two, &c).unwrap();
        out.report
            .env_changes
            .iter()
            .map(|e| format!("{}/{}", e.at.name, e.container))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&|_| {}), ["p/c", "q/sidecar"]);
    assert_eq!(run(&|c| c.targets.names = vec!["q*".into()]), ["q/sidecar"]);
    assert_eq!(
        run(&|c| {
            c.targets.labels.insert("tier".into(), "web".into());
        }),
        ["q/sidecar"]
    );
    assert_eq!(run(&|c| c.targets.containers = vec!["c".into()]), ["p/c"]);
    assert!(run(&|c| c.targets.kinds = vec!["Deployment".into()]).is_empty());
}

#[test]
fn a_literal_named_like_a_referenced_key_is_another_setting() {
    let two = "---\nkind: Deployment\nmetadata: {name: gateway}\nspec:\n  template:\n    spec:\n      containers:\n      - name: g\n        env:\n        - name: PORT\n          valueFrom: {secretKeyRef: {name: cfg, key: PORT}}\n---\nkind: Deployment\nmetadata: {name: dataservice}\nspec:\n  template:\n    spec:\n      containers:\n      - name: d\n        env:\n        - name: PORT\n          value: \"8081\"\n";
    let mut c = partial();
    c.keys = vec!["PORT".into()];
    let out = vaultwire::run(two, &c).unwrap();
    let changed: Vec<&str> = out
        .report
        .env_changes
        .iter()
        .map(|e| e.at.name.as_str())
        .collect();
    assert_eq!(changed, ["gateway"]);
    assert!(out
        .report
        .notes
        .iter()
        .any(|n| n.contains("Deployment 'dataservice'") && n.contains("keeps its literal value")));
    assert!(!out.report.notes.concat().contains("8081"));
    // an alias says it is the key after all
    c.aliases.insert("PORT".into(), "PORT".into());
    let out = vaultwire::run(two, &c).unwrap();
    assert_eq!(out.report.env_changes.len(), 2);
    // with no reference anywhere (the lookup render), both are rewritten and the clash is named
    let literal = two.replace(
        "valueFrom: {secretKeyRef: {name: cfg, key: PORT}}",
        "value: \"8787\"",
    );
    let err = vaultwire::run(&literal, &partial_with(&["PORT"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(
        err.message().contains("2 different values")
            && err.message().contains("Deployment 'gateway'")
            && err.message().contains("Deployment 'dataservice'")
            && !err.message().contains("8081"),
        "{err}"
    );
}

fn partial_with(keys: &[&str]) -> Config {
    Config {
        keys: keys.iter().map(|k| (*k).into()).collect(),
        ..partial()
    }
}

#[test]
fn keys_that_arrive_through_env_from_get_an_explicit_entry_and_leave_the_source() {
    let input = "---\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {DB_PASSWORD: x, OTHER: other}\n---\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        envFrom:\n        - configMapRef: {name: cfg}\n        env:\n        - name: DB_USER\n          valueFrom: {configMapKeyRef: {name: cfg, key: OTHER}}\n";
    let out = vaultwire::run(input, &partial()).unwrap();
    let docs: Vec<serde_json::Value> = support::read_stream(&out.stream)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect();
    let env = &docs[1]["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        serde_json::json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "synced", "key": "DB_PASSWORD"}}}),
        "an explicit entry at the head wins over envFrom"
    );
    assert_eq!(env[1]["name"], "DB_USER");
    assert_eq!(
        docs[0]["data"],
        serde_json::json!({"OTHER": "other"}),
        "the key left the ConfigMap: the envFrom that read it is overridden"
    );
    assert!(out.report.warnings.is_empty(), "{:?}", out.report.warnings);
    // A second envFrom source that holds the name later decides the value: left alone.
    let shadowed = input.replace(
        "        - configMapRef: {name: cfg}\n",
        "        - configMapRef: {name: cfg}\n        - configMapRef: {name: cfg2}\n",
    ) + "---\nkind: ConfigMap\nmetadata: {name: cfg2}\ndata: {DB_PASSWORD: z}\n";
    let out = vaultwire::run(&shadowed, &partial_with(&["cfg/DB_PASSWORD"])).unwrap();
    assert!(!out.stream.contains("name: synced"), "{}", out.stream);
    // and a bare key held by both is two secrets: refused
    assert!(vaultwire::run(&shadowed, &partial()).is_err());
}

/// Workloads are wired one at a time; a literal `PORT` met before the entry that reads key
/// `PORT` by reference must end as if that entry had been seen first: kept, with a note, and
/// the same output and report whichever order the documents come in.
#[test]
fn a_literal_namesake_is_kept_whichever_document_comes_first() {
    let literal = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dataservice}\nspec:\n  template:\n    spec:\n      containers:\n      - name: ds\n        env:\n        - {name: PORT, value: \"8081\"}\n";
    let by_ref = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gateway}\nspec:\n  template:\n    spec:\n      containers:\n      - name: gw\n        env:\n        - name: PORT\n          valueFrom: {secretKeyRef: {name: chart-env, key: PORT}}\n";
    let cfg = partial_with(&["PORT"]);
    let first = vaultwire::run(&format!("{literal}---\n{by_ref}"), &cfg).unwrap();
    let second = vaultwire::run(&format!("{by_ref}---\n{literal}"), &cfg).unwrap();
    for out in [&first, &second] {
        assert!(
            out.stream.contains("{name: PORT, value: \"8081\"}"),
            "{}",
            out.stream
        );
        assert_eq!(
            out.report.env_changes.len(),
            1,
            "{:?}",
            out.report.env_changes
        );
        assert_eq!(out.report.env_changes[0].container, "gw");
        assert!(
            out.report
                .notes
                .iter()
                .any(|n| n.contains("keeps its literal value")),
            "{:?}",
            out.report.notes
        );
        assert!(out.report.warnings.is_empty(), "{:?}", out.report.warnings);
    }
    let (a, b) = first.stream.split_once("---\n").unwrap();
    let (c, d) = second.stream.split_once("---\n").unwrap();
    assert_eq!((a, b), (d, c));
}

/// The CLI's brief run (no --explain, no --report) writes exactly what the full one does.
#[test]
fn brief_and_detailed_runs_write_the_same_stream() {
    let cfg = partial();
    let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        env:\n        - {name: DB_PASSWORD, value: x}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n";
    let detailed = vaultwire::run(input, &cfg).unwrap();
    let brief = vaultwire::wire(input, &cfg, vaultwire::Options { detail: false }).unwrap();
    let mut text = String::new();
    brief.write_to(&mut text).unwrap();
    assert_eq!(text, detailed.stream);
    assert!(brief.report.env_changes.is_empty() && brief.report.patches.is_empty());
    assert!(!detailed.report.env_changes.is_empty() && !detailed.report.patches.is_empty());
}

fn deployment(name: &str, env: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        env:\n        - name: {env}\n          value: x\n")
}

/// Every document of a stream parses, each with the directives before its `---`.
fn each_document_parses(stream: &str) {
    for chunk in vaultwire::stream::split(stream).chunks {
        if !chunk.is_blank() {
            if let Err(e) = vaultwire::yaml::parse(&chunk.document()) {
                panic!("{}: {}\n{stream}", e.message, chunk.raw());
            }
        }
    }
}

/// `%YAML` before a `---` belongs to the document that `---` opens: it is read with it and
/// written before it, also when nothing ended the document before (no `...`).
#[test]
fn a_yaml_directive_stays_with_its_document() {
    let input = format!(
        "{}%YAML 1.1\n---\n{}",
        deployment("a", "DB_PASSWORD"),
        deployment("b", "DB_PASSWORD")
    );
    let out = vaultwire::run(&input, &partial()).unwrap();
    assert_eq!(out.report.env_changes.len(), 2, "{}", out.stream);
    let (first, second) = out
        .stream
        .split_once("%YAML 1.1\n---\n")
        .expect(&out.stream);
    assert!(synced_ref(first) && synced_ref(second), "{}", out.stream);
    each_document_parses(&out.stream);
    // untouched documents keep their bytes, the directive with them
    let untouched = format!(
        "%YAML 1.1\n---\n{}%YAML 1.1\n# a comment\n--- {{apiVersion: v1, kind: Secret, metadata: {{name: s}}}}\n...\n%YAML 1.2\n---\n{}",
        deployment("a", "OTHER"),
        deployment("b", "OTHER")
    );
    let out = vaultwire::run(&untouched, &partial()).unwrap();
    assert_eq!(out.stream, untouched);
}

/// `%TAG` likewise: a document using its handle is read with it.
#[test]
fn a_tag_directive_stays_with_its_document() {
    let tagged = deployment("b", "DB_PASSWORD").replace("name: b", "name: !e!name b");
    let directive = "%TAG !e! tag:example.com,2000:\n---\n";
    let input = format!(
        "{}{directive}{tagged}---\n{}",
        deployment("a", "DB_PASSWORD"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
    );
    let out = vaultwire::run(&input, &partial()).unwrap();
    assert_eq!(out.report.env_changes.len(), 2, "{}", out.stream);
    assert_eq!(out.report.env_changes[1].at.name, "b");
    let (_, second) = out.stream.split_once(directive).expect(&out.stream);
    assert!(synced_ref(second), "{}", out.stream);
    each_document_parses(&out.stream);
    let untouched = input.replace("DB_PASSWORD", "OTHER");
    assert_eq!(
        vaultwire::run(&untouched, &partial()).unwrap().stream,
        untouched
    );
}

/// A key that is no string stops the run with one message that names the document.
#[test]
fn a_null_key_is_a_clear_error() {
    for (key, what) in [
        ("~", "null"),
        ("null", "null"),
        ("? [a, b]\n ", "a sequence or a mapping"),
    ] {
        let input = format!("{}---\n# Source: chart/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  {key}: x\n", deployment("a", "DB_PASSWORD"));
        // the line after `data:`, where the key is
        let line = input.lines().position(|l| l == "data:").unwrap() + 2;
        let out = crate::support::run_vaultwire(
            &["-m", "partial", "--secret", "synced", "-k", "DB_PASSWORD"],
            &input,
        );
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            format!("vaultwire: document 2 (chart/templates/cm.yaml, ConfigMap): invalid YAML at line {line}: a mapping key is {what}: Kubernetes objects need string keys\n")
        );
    }
}

/// The text and style of the scalar that follows the scalar `key` in `yaml`.
fn scalar_after(yaml: &str, key: &str) -> (String, serde_saphyr::granit_parser::ScalarStyle) {
    use serde_saphyr::granit_parser::{Event, Parser};
    let mut events = Parser::new_from_str(yaml).map(|e| e.unwrap().0);
    while let Some(event) = events.next() {
        if matches!(&event, Event::Scalar(k, ..) if k == key) {
            if let Some(Event::Scalar(value, style, _, None)) = events.next() {
                return (value.to_string(), style);
            }
        }
    }
    panic!("no scalar under {key}:\n{yaml}");
}

/// `.inf`, `.nan` and numbers beyond 64 bits stay numbers, as written, in a rewritten document.
#[test]
fn numbers_keep_their_type_and_text_in_a_rewritten_document() {
    use serde_saphyr::granit_parser::ScalarStyle;
    let numbers = [
        ("inf", ".inf"),
        ("ninf", "-.inf"),
        ("nan", ".nan"),
        ("big", "123456789012345678901234567890"),
        ("huge", "1e400"),
    ];
    let mut input = deployment("a", "DB_PASSWORD").replace(
        "spec:\n  template:",
        "spec:\n  x-numbers:\n    quoted: \".inf\"\n    mode: 0644\n  template:",
    );
    for (key, token) in numbers {
        input = input.replace(
            "  x-numbers:\n",
            &format!("  x-numbers:\n    {key}: {token}\n"),
        );
    }
    let out = vaultwire::run(&input, &partial()).unwrap().stream;
    assert!(synced_ref(&out), "{out}");
    for (key, token) in numbers {
        // a plain scalar of the same text: the same number, by YAML's core schema
        assert_eq!(
            scalar_after(&out, key),
            (token.to_string(), ScalarStyle::Plain),
            "{out}"
        );
    }
    assert_eq!(
        scalar_after(&out, "quoted"),
        (".inf".to_string(), ScalarStyle::DoubleQuoted)
    );
    assert_eq!(
        scalar_after(&out, "mode"),
        ("420".to_string(), ScalarStyle::Plain),
        "a legacy octal reads as Kubernetes reads it"
    );
}

/// What Helm sends for a chart that renders nothing (Helm 3 runs the post-renderer anyway): every
/// mode gives the stream back as it came, exit 0, with a note; full mode does not ask for keys and
/// partial mode adds no operator resource to an empty release.
#[test]
fn a_stream_without_documents_goes_out_as_it_came_in_every_mode() {
    let eso = [
        "--eso",
        "--vault-path",
        "kv/data/app",
        "--role",
        "app",
        "--vault-addr",
        "https://vault.example:8200",
    ];
    for stream in ["", "\n", "# Source: nothing\n---\n", "---\n...\n"] {
        for args in [
            vec!["-m", "full", "--secret", "synced"],
            vec![
                "-m",
                "mount",
                "--role",
                "app",
                "--vault-path",
                "kv/data/app",
                "-k",
                "K",
            ],
            [
                vec!["-m", "partial", "--secret", "synced", "-k", "K"],
                eso.to_vec(),
            ]
            .concat(),
        ] {
            let r = support::run_vaultwire(&args, stream);
            assert_eq!(r.code, Some(0), "{args:?} on {stream:?}: {}", r.stderr);
            assert_eq!(r.stdout, stream, "{args:?}");
            assert!(
                r.stderr
                    .contains("the stream has no documents: nothing to wire"),
                "{}",
                r.stderr
            );
        }
    }
}

fn full() -> Config {
    Config {
        mode: Some(Mode::Full),
        existing_secret: Some("synced".into()),
        ..Config::default()
    }
}

const APP_ENV: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-env}\ndata: {LOG_LEVEL: info}\n";
/// `envFrom` app-env, then a Secret the stream does not render: it may set LOG_LEVEL too, so the
/// variable is left as it is.
const WORKER: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\nspec:\n  template:\n    spec:\n      containers:\n      - name: worker\n        envFrom:\n        - configMapRef: {name: app-env}\n        - secretRef: {name: outside}\n";

fn web(env: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n{env}")
}

/// Full mode rewrites the readers of `app-env`/LOG_LEVEL it can (web) and keeps the key for the
/// `envFrom` it must leave (worker). The second run then sees LOG_LEVEL read from the synced
/// Secret and, by worker, still from the ConfigMap: one field and a read that moves nothing,
/// not two secrets sharing the field. Found by fuzz/fuzz_targets/transform.rs on a mastodon
/// render whose web container's `secretRef` named a Secret outside the stream.
#[test]
fn full_mode_is_idempotent_when_an_env_from_read_is_left_as_it_is() {
    let readers = [
        "        envFrom:\n        - configMapRef: {name: app-env}\n",
        "        env:\n        - name: LEVEL\n          valueFrom: {configMapKeyRef: {name: app-env, key: LOG_LEVEL}}\n",
    ];
    for reader in readers {
        let input = [APP_ENV, &web(reader), WORKER].join("---\n");
        let first = vaultwire::run(&input, &full()).unwrap_or_else(|e| panic!("{e}\n{input}"));
        assert!(
            first.stream.contains("name: synced") && first.stream.contains("key: LOG_LEVEL"),
            "web reads the synced Secret:\n{}",
            first.stream
        );
        assert!(
            first.stream.contains(WORKER) && first.stream.contains(APP_ENV),
            "worker and the key it reads stay:\n{}",
            first.stream
        );
        let left = |w: &[String]| {
            w.iter()
                .filter(|w| w.contains("Secret 'outside'") && w.contains("left as it is"))
                .count()
        };
        assert_eq!(
            left(&first.report.warnings),
            1,
            "{:?}",
            first.report.warnings
        );
        let second = vaultwire::run(&first.stream, &full())
            .unwrap_or_else(|e| panic!("second run: {e}\n{}", first.stream));
        assert_eq!(second.stream, first.stream, "not idempotent");
        assert_eq!(
            left(&second.report.warnings),
            1,
            "{:?}",
            second.report.warnings
        );
    }
}

/// The rule does not hide a real clash: the chart itself reads LOG_LEVEL from the synced Secret
/// (value unknown) while web's reader of `app-env`/LOG_LEVEL would move to it: refused. Only the
/// read vaultwire leaves (worker's) is no source, so with it alone nothing is merged or changed.
#[test]
fn a_left_env_from_read_is_no_source_but_a_moving_reader_still_clashes() {
    let api = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        env:\n        - name: LOG_LEVEL\n          valueFrom: {secretKeyRef: {name: synced, key: LOG_LEVEL}}\n";
    let moving = web("        envFrom:\n        - configMapRef: {name: app-env}\n");
    let clash = [APP_ENV, &moving, WORKER, api].join("---\n");
    let e = vaultwire::run(&clash, &full()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input);
    assert!(
        e.message()
            .contains("two secrets would share the Vault field LOG_LEVEL"),
        "{e}"
    );
    let left_only = [APP_ENV, WORKER, api].join("---\n");
    let out = vaultwire::run(&left_only, &full()).unwrap();
    assert_eq!(out.stream, left_only);
    assert!(out.report.sources.is_empty(), "{:?}", out.report.sources);
    // nothing at all to move: refused, saying why
    let nothing = [APP_ENV, WORKER].join("---\n");
    let e = vaultwire::run(&nothing, &full()).unwrap_err();
    assert!(
        e.message().contains("no configuration key it can move"),
        "{e}"
    );
}
