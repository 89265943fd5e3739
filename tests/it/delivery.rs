//! Mount mode's delivery styles (path, file, exec), `$(VAR)` composition by the kubelet's
//! rules, and the injector's init order. The real agent renders these files in
//! `tests/e2e/test_delivery.py`; here the shapes, the errors and a shell run of the exec wrapper.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use vaultwire::config::{ContainerDelivery, Delivery};
use vaultwire::lint::lint;
use vaultwire::{run, Config, ErrorKind, Mode};

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: plain-pw-1
";

/// A Deployment of one container `app` (and init container `migrate` when `init`), env as given.
fn deployment(env: &str, extra: &str, init: bool) -> String {
    let init = if init {
        "      initContainers:
      - name: migrate
        image: migrate
        command: [migrate]
        env:
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
"
    } else {
        ""
    };
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      labels: {{app: api}}
    spec:
{init}      containers:
      - name: app
        image: app
{extra}        env:
{env}"
    )
}

/// `stream` (of `deployment`) with pod annotations, `name: value` lines, beside its labels.
fn with_pod_annotations(stream: &str, annotations: &[&str]) -> String {
    let labels = "      labels: {app: api}\n";
    assert!(
        stream.contains(labels),
        "no pod labels to annotate beside in {stream}"
    );
    let lines: String = annotations
        .iter()
        .map(|a| format!("        {a}\n"))
        .collect();
    stream.replace(labels, &format!("{labels}      annotations:\n{lines}"))
}

const ENV: &str = "        - name: EARLY
          value: $(PASSWORD)
        - name: USER
          value: app
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - name: URL
          value: pg://$(USER):$(PASSWORD)@h/$$(USER)/$(NOPE)
        - name: AGAIN
          value: '[$(URL)]'
";

fn config(mode: Mode, delivery: Option<Delivery>) -> Config {
    let mut c = Config {
        mode: Some(mode),
        keys: vec!["db/password".into()],
        ..Config::default()
    };
    if mode == Mode::Mount {
        c.vault.secret_path = Some("kv/data/app".into());
        c.vault.role = Some("app".into());
        c.delivery.style = delivery;
    } else {
        c.existing_secret = Some("synced".into());
    }
    c
}

fn docs(stream: &str) -> Vec<Value> {
    stream
        .split("\n---")
        .filter_map(|d| serde_saphyr::from_str::<Value>(d).ok())
        .filter(|v| v.is_object())
        .collect()
}

fn pod(stream: &str) -> Value {
    docs(stream)
        .into_iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("the Deployment")["spec"]["template"]
        .clone()
}

fn env(pod: &Value, container: usize) -> BTreeMap<String, Value> {
    pod["spec"]["containers"][container]["env"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn annotation<'a>(pod: &'a Value, name: &str) -> Option<&'a str> {
    pod["metadata"]["annotations"][format!("vault.hashicorp.com/{name}")].as_str()
}

fn read(field: &str) -> String {
    format!("{{{{ with secret \"kv/data/app\" }}}}{{{{ .Data.data.{field} }}}}{{{{ end }}}}")
}

#[test]
fn path_delivery_composes_each_expansion_by_the_kubelets_rules() {
    let input = format!("{SECRET}{}", deployment(ENV, "", false));
    let out = run(&input, &config(Mode::Mount, None)).unwrap().stream;
    let p = pod(&out);
    let e = env(&p, 0);
    // defined before PASSWORD: the kubelet leaves it as written, and so does vaultwire
    assert_eq!(e["EARLY"]["value"], "$(PASSWORD)");
    assert_eq!(e["PASSWORD"]["value"], "/vault/secrets/password");
    assert_eq!(e["URL"]["value"], "/vault/secrets/URL");
    assert_eq!(e["AGAIN"]["value"], "/vault/secrets/AGAIN");
    let url = format!("pg://app:{}@h/$(USER)/$(NOPE)", read("password"));
    assert_eq!(
        annotation(&p, "agent-inject-template-url"),
        Some(url.as_str())
    );
    assert_eq!(annotation(&p, "agent-inject-file-url"), Some("URL"));
    assert_eq!(annotation(&p, "error-on-missing-key-url"), Some("true"));
    let again = format!("[{url}]");
    assert_eq!(
        annotation(&p, "agent-inject-template-again"),
        Some(again.as_str())
    );
    // a second run changes nothing
    let twice = run(&out, &config(Mode::Mount, None)).unwrap().stream;
    assert_eq!(twice, out);
}

#[test]
fn partial_and_full_modes_leave_expansion_to_kubernetes() {
    // The keyRef now reads the synced Secret, defined before URL: the kubelet expands URL from
    // it, so URL stays as written.
    let input = format!("{SECRET}{}", deployment(ENV, "", false));
    for mode in [Mode::Partial, Mode::Full] {
        let out = run(&input, &config(mode, None)).unwrap().stream;
        let e = env(&pod(&out), 0);
        assert_eq!(
            e["PASSWORD"]["valueFrom"]["secretKeyRef"]["name"], "synced",
            "{mode}"
        );
        assert_eq!(
            e["URL"]["value"],
            "pg://$(USER):$(PASSWORD)@h/$$(USER)/$(NOPE)"
        );
        assert_eq!(e["AGAIN"]["value"], "[$(URL)]");
    }
}

#[test]
fn an_argument_expanding_a_moved_variable_stops_path_and_file_delivery() {
    let input = format!(
        "{SECRET}{}",
        deployment(ENV, "        args: [serve, --pw=$(PASSWORD)]\n", false)
    );
    for d in [Delivery::Path, Delivery::File] {
        let err = run(&input, &config(Mode::Mount, Some(d))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert_eq!(err.kind().exit_code(), 1);
        let text = err.to_string();
        for needle in [
            "Deployment 'api'",
            "container 'app'",
            "args[1]",
            "$(PASSWORD)",
            "--delivery exec",
        ] {
            assert!(text.contains(needle), "{d}: {needle} missing from: {text}");
        }
        assert!(!text.contains("plain-pw-1"));
    }
}

#[test]
fn a_variable_known_only_in_the_pod_stops_a_template_but_not_the_shell() {
    let env = format!(
        "{ENV}        - name: POD_IP
          valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}
        - name: PEER
          value: $(POD_IP):$(PASSWORD)
"
    );
    let input = format!(
        "{SECRET}{}",
        deployment(&env, "        command: [serve]\n", false)
    );
    let err = run(&input, &config(Mode::Mount, None)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("env PEER") && text.contains("$(POD_IP)") && text.contains("exec"),
        "{text}"
    );
    let out = run(&input, &config(Mode::Mount, Some(Delivery::Exec)))
        .unwrap()
        .stream;
    let t = annotation(&pod(&out), "agent-inject-template-vaultwire.app.env")
        .unwrap()
        .to_string();
    assert!(
        t.contains("export PEER=\"${POD_IP}\"':{{ with secret \"kv/data/app\" }}"),
        "{t}"
    );
}

#[test]
fn file_delivery_renames_with_the_suffix() {
    let input = format!("{SECRET}{}", deployment(ENV, "", false));
    let mut c = config(Mode::Mount, Some(Delivery::File));
    let out = run(&input, &c).unwrap().stream;
    let p = pod(&out);
    let e = env(&p, 0);
    assert!(!e.contains_key("PASSWORD"));
    assert_eq!(e["PASSWORD_FILE"]["value"], "/vault/secrets/password");
    assert_eq!(e["URL_FILE"]["value"], "/vault/secrets/URL");
    assert_eq!(e["EARLY"]["value"], "$(PASSWORD)");
    // the field's own template: exactly the value, no newline around it
    assert_eq!(
        annotation(&p, "agent-inject-template-password"),
        Some("{{- with secret \"kv/data/app\" -}}{{ .Data.data.password }}{{- end }}")
    );
    assert_eq!(run(&out, &c).unwrap().stream, out, "a second run");
    c.delivery.file_suffix = Some("__FILE".into());
    let e = env(&pod(&run(&input, &c).unwrap().stream), 0);
    assert!(e.contains_key("PASSWORD__FILE"));
    // a name already taken is a conflict, not a silent second entry
    let taken = format!("{ENV}        - name: PASSWORD_FILE\n          value: /etc/pw\n");
    let input = format!("{SECRET}{}", deployment(&taken, "", false));
    let err = run(&input, &config(Mode::Mount, Some(Delivery::File))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
}

/// What consul-template's `replaceAll "'" "'\\''"` and the read render for `value`.
fn render_exec_file(template: &str, value: &str) -> String {
    let read = "{{ with secret \"kv/data/app\" }}{{ .Data.data.password | replaceAll \"'\" \"'\\\\''\" }}{{ end }}";
    assert!(template.contains(read), "{template}");
    template.replace(read, &value.replace('\'', "'\\''"))
}

#[test]
fn exec_delivery_exports_shell_safe_values_and_runs_the_original_argv() {
    let input = format!(
        "{SECRET}{}",
        deployment(
            ENV,
            "        command: [printf]\n        args: ['%s|', $(USER), --pw=$(PASSWORD), '$(URL)', $$(USER)]\n",
            false
        )
    );
    let out = run(&input, &config(Mode::Mount, Some(Delivery::Exec)))
        .unwrap()
        .stream;
    // a second run changes nothing and still knows what the wrapped container reads
    let again = run(&out, &config(Mode::Mount, Some(Delivery::Exec))).unwrap();
    assert_eq!(again.stream, out);
    assert!(
        again.report.warnings.is_empty(),
        "{:?}",
        again.report.warnings
    );
    let p = pod(&out);
    let c = &p["spec"]["containers"][0];
    let e = env(&p, 0);
    // moved and composed entries leave env; the others stay for the kubelet
    assert_eq!(
        e.keys().collect::<Vec<_>>(),
        ["EARLY", "USER"],
        "{}",
        c["env"]
    );
    let script = c["command"][2].as_str().unwrap();
    assert_eq!(c["command"][0], "/bin/sh");
    assert_eq!(c["command"][1], "-c");
    assert_eq!(
        c["args"],
        serde_json::json!([
            "printf",
            "%s|",
            "$(USER)",
            "--pw=$(PASSWORD)",
            "$(URL)",
            "$$(USER)"
        ])
    );
    let template = annotation(&p, "agent-inject-template-vaultwire.app.env").unwrap();
    assert_eq!(
        annotation(&p, "agent-inject-file-vaultwire.app.env"),
        Some("vaultwire.app.env")
    );
    // Render the file as the agent would, with a hostile value, and run the wrapper for real.
    let value = "p'a\"ss $HOME `x` \\n\n;&|* end";
    let dir = std::env::temp_dir().join(format!("vaultwire-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vaultwire.app.env");
    std::fs::write(&file, render_exec_file(template, value)).unwrap();
    let script = script.replace("/vault/secrets", dir.to_str().unwrap());
    // the kubelet's own expansion of command/args: USER is defined, the rest is not (or $$)
    let argv = [
        "printf",
        "%s|",
        "app",
        "--pw=$(PASSWORD)",
        "$(URL)",
        "$(USER)",
    ];
    let shell = Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("USER", "app")
        .env("EARLY", "$(PASSWORD)")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        shell.status.success(),
        "{}",
        String::from_utf8_lossy(&shell.stderr)
    );
    let printed = String::from_utf8(shell.stdout).unwrap();
    let url = format!("pg://app:{value}@h/$(USER)/$(NOPE)");
    assert_eq!(
        printed,
        format!("app|--pw={value}|{url}|$(USER)|"),
        "the argv the program got"
    );
}

#[test]
fn exec_delivery_of_a_container_without_command_needs_its_entrypoint() {
    let input = format!("{SECRET}{}", deployment(ENV, "", false));
    let mut c = config(Mode::Mount, Some(Delivery::Exec));
    let err = run(&input, &c).unwrap_err();
    assert_eq!(err.kind().exit_code(), 1);
    let text = err.to_string();
    assert!(
        text.contains("Deployment 'api'")
            && text.contains("container 'app'")
            && text.contains("entrypoint"),
        "{text}"
    );
    c.delivery.containers.push(ContainerDelivery {
        container: "app".into(),
        entrypoint: vec!["/docker-entrypoint.sh".into()],
        ..ContainerDelivery::default()
    });
    let out = run(&input, &c).unwrap().stream;
    let p = pod(&out);
    assert_eq!(
        p["spec"]["containers"][0]["args"][0],
        "/docker-entrypoint.sh"
    );
    let findings = lint(&out, &Config::default()).unwrap();
    assert!(findings.iter().all(|f| f.rule != "exec-without-command"));
    // the same env file with the wrapper taken away: nobody sources it
    let mut broken = out.clone();
    broken = broken.replace("- /bin/sh\n", "- /bin/true\n").replace(
        ". '/vault/secrets/vaultwire.app.env' && exec \"$0\" \"$@\"",
        "true",
    );
    let findings = lint(&broken, &Config::default()).unwrap();
    assert!(
        findings.iter().any(|f| f.rule == "exec-without-command"),
        "{findings:?}"
    );
}

#[test]
fn delivery_is_chosen_per_container() {
    let input = format!(
        "{SECRET}{}",
        deployment(ENV, "        command: [serve]\n", true)
    );
    let mut c = config(Mode::Mount, Some(Delivery::File));
    c.delivery.containers.push(ContainerDelivery {
        container: "mig*".into(),
        style: Some(Delivery::Exec),
        ..ContainerDelivery::default()
    });
    let p = pod(&run(&input, &c).unwrap().stream);
    assert!(env(&p, 0).contains_key("PASSWORD_FILE"));
    assert_eq!(p["spec"]["initContainers"][0]["command"][0], "/bin/sh");
    assert!(p["spec"]["initContainers"][0].get("env").is_none());
}

#[test]
fn an_init_container_reading_a_moved_key_runs_after_the_agent() {
    let input = format!("{SECRET}{}", deployment(ENV, "", true));
    let out = run(&input, &config(Mode::Mount, None)).unwrap().stream;
    let p = pod(&out);
    assert_eq!(annotation(&p, "agent-init-first"), Some("true"));
    assert!(lint(&out, &Config::default())
        .unwrap()
        .iter()
        .all(|f| f.rule != "init-before-agent"));
    // without it, lint says so
    let without = out.replace(
        "        vault.hashicorp.com/agent-init-first: \"true\"\n",
        "",
    );
    assert_ne!(without, out);
    let findings = lint(&without, &Config::default()).unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.rule == "init-before-agent" && f.container.as_deref() == Some("migrate")),
        "{findings:?}"
    );
    // no reading init container: the injector's default order stands
    let no_init = format!("{SECRET}{}", deployment(ENV, "", false));
    let p = pod(&run(&no_init, &config(Mode::Mount, None)).unwrap().stream);
    assert_eq!(annotation(&p, "agent-init-first"), None);
    // a chart that says "false" is a conflict, as other annotations are
    let said = with_pod_annotations(&input, &["vault.hashicorp.com/agent-init-first: \"false\""]);
    let err = run(&said, &config(Mode::Mount, None)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("agent-init-first"));
}

#[test]
fn lint_finds_a_path_in_an_expansion_of_a_hand_wired_stream() {
    let env = "        - name: PASSWORD
          value: /vault/secrets/password
        - name: PASSWORD_FILE
          value: /vault/secrets/password
        - name: URL
          value: pg://u:$(PASSWORD)@h/$(PASSWORD_FILE)
";
    let hand = with_pod_annotations(
        &deployment(env, "        args: [--pw=$(PASSWORD)]\n", false),
        &[
            "vault.hashicorp.com/agent-inject: \"true\"",
            "vault.hashicorp.com/agent-inject-secret-password: kv/data/app",
            "vault.hashicorp.com/agent-inject-file-password: password",
        ],
    );
    let findings = lint(&hand, &Config::default()).unwrap();
    let hits: Vec<(Option<&str>, &str)> = findings
        .iter()
        .filter(|f| f.rule == "path-in-expansion")
        .map(|f| (f.env.as_deref(), f.message.as_str()))
        .collect();
    // URL's $(PASSWORD) and the argument; $(PASSWORD_FILE) is meant as a path
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].0, Some("URL"));
    assert!(hits.iter().all(|(_, m)| m.contains("$(PASSWORD)")));
}

#[test]
fn kv_version_1_reads_the_data_itself_in_every_style() {
    let input = format!(
        "{SECRET}{}",
        deployment(ENV, "        command: [serve]\n", false)
    );
    for d in [Delivery::Path, Delivery::File, Delivery::Exec] {
        let mut c = config(Mode::Mount, Some(d));
        c.vault.secret_path = Some("secret/app".into());
        c.vault.kv_version = Some(1);
        let p = pod(&run(&input, &c).unwrap().stream);
        let templates: Vec<&str> = p["metadata"]["annotations"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.contains("agent-inject-template-"))
            .filter_map(|(_, v)| v.as_str())
            .collect();
        assert!(!templates.is_empty(), "{d}");
        for t in templates {
            assert!(
                t.contains("secret \"secret/app\"") && t.contains(".Data.password"),
                "{d}: {t}"
            );
            assert!(!t.contains(".Data.data."), "{d}: {t}");
        }
    }
}
