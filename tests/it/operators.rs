//! Operator resources from the same key list: ESO ExternalSecret (and store), VSO resources,
//! Reloader annotations; idempotent, grouped under their own template files.

use std::path::PathBuf;

use vaultwire::Config;

fn example(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

fn config(extra: &str) -> Config {
    Config::from_yaml(&format!(
        "mode: partial\nexistingSecret: portkey-gateway-env\nkeys: [PORTKEY_CLIENT_AUTH, ANALYTICS_STORE_PASSWORD, NOT_USED]\nvault: {{secretPath: kv/data/portkey/gateway/config, address: 'https://vault.example:8200', role: portkey-gateway}}\n{extra}"
    ))
    .unwrap()
}

fn docs(stream: &str) -> Vec<serde_json::Value> {
    stream
        .split("\n---\n")
        .filter_map(|d| serde_saphyr::from_str::<serde_json::Value>(d).ok())
        .filter(|v| v.is_object())
        .collect()
}

/// The string `field` of every item of a YAML list.
fn strings<'a>(list: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|x| x[field].as_str().unwrap())
        .collect()
}

fn find<'a>(docs: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn external_secret_reads_exactly_the_carried_keys_relative_to_the_mount() {
    let cfg = config("operators: {externalSecrets: {enabled: true, store: {create: true}}}\n");
    let out = vaultwire::run(&example("portkey-mini.helm4-stdin.yaml"), &cfg).unwrap();
    let d = docs(&out.stream);
    let es = find(&d, "ExternalSecret");
    assert_eq!(es["apiVersion"], "external-secrets.io/v1");
    assert_eq!(es["spec"]["target"]["name"], "portkey-gateway-env");
    let data = es["spec"]["data"].as_array().unwrap();
    let keys = strings(&es["spec"]["data"], "secretKey");
    assert_eq!(
        keys,
        ["PORTKEY_CLIENT_AUTH", "ANALYTICS_STORE_PASSWORD"],
        "NOT_USED is read by no env"
    );
    assert_eq!(data[0]["remoteRef"]["key"], "portkey/gateway/config");
    let store = find(&d, "ClusterSecretStore");
    assert_eq!(store["spec"]["provider"]["vault"]["path"], "kv");
    assert_eq!(store["spec"]["provider"]["vault"]["version"], "v2");
    assert_eq!(
        store["spec"]["provider"]["vault"]["auth"]["kubernetes"]["mountPath"],
        "kubernetes"
    );
    assert_eq!(
        es["metadata"]["annotations"]["postrenderer.helm.sh/postrender-filename"],
        "vaultwire/externalsecret.yaml"
    );
    // idempotent: the second run updates in place, adds nothing
    let again = vaultwire::run(&out.stream, &cfg).unwrap();
    assert_eq!(again.stream, out.stream);
    assert!(again.report.added_documents.is_empty());
    // Helm 3 streams get a Source comment instead
    let h3 = vaultwire::run(&example("portkey-mini.manifest.yaml"), &cfg).unwrap();
    assert!(
        h3.stream.contains(
            "---\n# Source: vaultwire/externalsecret.yaml\napiVersion: external-secrets.io/v1\n"
        ),
        "{}",
        h3.stream
    );
    assert_eq!(vaultwire::run(&h3.stream, &cfg).unwrap().stream, h3.stream);
}

#[test]
fn eso_v1beta1_only_on_request() {
    let cfg = config("operators: {externalSecrets: {enabled: true, apiVersion: v1beta1}}\n");
    let out = vaultwire::run(&example("portkey-mini.helm4-stdin.yaml"), &cfg).unwrap();
    assert_eq!(
        find(&docs(&out.stream), "ExternalSecret")["apiVersion"],
        "external-secrets.io/v1beta1"
    );
    let bad = Config::from_yaml("mode: partial\nexistingSecret: s\nkeys: [K]\nvault: {secretPath: kv/a}\noperators: {externalSecrets: {enabled: true, apiVersion: v2}}\n").unwrap();
    assert!(vaultwire::run("", &bad)
        .unwrap_err()
        .to_string()
        .contains("v1beta1 (ESO 0.16 and earlier)"));
}

#[test]
fn vault_secrets_operator_resources() {
    let cfg = config("operators: {vaultSecretsOperator: {enabled: true}, reloader: true}\n");
    let out = vaultwire::run(&example("portkey-mini.helm4-stdin.yaml"), &cfg).unwrap();
    let d = docs(&out.stream);
    let vss = find(&d, "VaultStaticSecret");
    assert_eq!(vss["spec"]["mount"], "kv");
    assert_eq!(
        vss["spec"]["path"], "portkey/gateway/config",
        "relative to the mount, no data/"
    );
    assert_eq!(vss["spec"]["type"], "kv-v2");
    assert_eq!(vss["spec"]["destination"]["create"], true);
    assert_eq!(
        vss["spec"]["destination"]["transformation"]["excludeRaw"],
        true
    );
    let restart = strings(&vss["spec"]["rolloutRestartTargets"], "name");
    assert_eq!(
        restart,
        ["portkey-dataservice", "portkey-gateway"],
        "Deployments only: a Job cannot be restarted"
    );
    assert_eq!(
        find(&d, "VaultConnection")["spec"]["address"],
        "https://vault.example:8200"
    );
    assert_eq!(
        find(&d, "VaultAuth")["spec"]["kubernetes"]["role"],
        "portkey-gateway"
    );
    let gateway = d
        .iter()
        .find(|x| x["kind"] == "Deployment" && x["metadata"]["name"] == "portkey-gateway")
        .unwrap();
    assert_eq!(
        gateway["metadata"]["annotations"]["secret.reloader.stakater.com/reload"],
        "portkey-gateway-env"
    );
    let redis = d
        .iter()
        .find(|x| x["metadata"]["name"] == "portkey-redis")
        .unwrap();
    assert!(redis["metadata"]["annotations"]
        .get("secret.reloader.stakater.com/reload")
        .is_none());
    assert_eq!(
        vaultwire::run(&out.stream, &cfg).unwrap().stream,
        out.stream
    );
}

#[test]
fn a_chart_rendered_external_secret_is_a_conflict() {
    let cfg = config("operators: {externalSecrets: {enabled: true}}\n");
    let chart = format!(
        "{}---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: portkey-gateway-env\n  annotations:\n    postrenderer.helm.sh/postrender-filename: portkey-mini/templates/es.yaml\nspec: {{}}\n",
        example("portkey-mini.helm4-stdin.yaml")
    );
    let err = vaultwire::run(&chart, &cfg).unwrap_err().to_string();
    assert!(
        err.contains("ExternalSecret 'portkey-gateway-env'") && err.contains("--force"),
        "{err}"
    );
    let mut forced = cfg.clone();
    forced.force = true;
    assert!(vaultwire::run(&chart, &forced).is_ok());
}

#[test]
fn the_synced_secret_also_holds_keys_the_pods_already_read_from_it() {
    // A chart that already reads some keys from the existing Secret (Portkey's
    // useVaultInjection): the operator owns that Secret now, so it must sync those keys too,
    // or the kubelet refuses to start the container. Optional refs need not be synced.
    let stream = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - {name: PORTKEY_CLIENT_AUTH, value: literal}
        - name: PORT
          valueFrom: {secretKeyRef: {name: portkey-gateway-env, key: PORT}}
        - name: MAYBE
          valueFrom: {secretKeyRef: {name: portkey-gateway-env, key: MAYBE, optional: true}}
        - name: ELSEWHERE
          valueFrom: {secretKeyRef: {name: other, key: ELSEWHERE}}
      volumes:
      - name: tls
        secret:
          secretName: portkey-gateway-env
          items: [{key: TLS_CERT, path: tls.crt}]
";
    let cfg = config("operators: {externalSecrets: {enabled: true}}\n");
    let out = vaultwire::run(stream, &cfg).unwrap();
    let d = docs(&out.stream);
    let es = find(&d, "ExternalSecret");
    let keys = strings(&es["spec"]["data"], "secretKey");
    assert_eq!(keys, ["PORTKEY_CLIENT_AUTH", "PORT", "TLS_CERT"]);
    // One operator at a time owns the synced Secret.
    let vso = vaultwire::run(
        stream,
        &config("operators: {vaultSecretsOperator: {enabled: true}}\n"),
    )
    .unwrap();
    let d = docs(&vso.stream);
    let vss = find(&d, "VaultStaticSecret");
    assert_eq!(
        vss["spec"]["destination"]["transformation"]["includes"],
        serde_json::json!(["^PORTKEY_CLIENT_AUTH$", "^PORT$", "^TLS_CERT$"])
    );
    assert!(
        out.report
            .notes
            .iter()
            .any(|n| n.contains("2 key(s)") && n.contains("PORT, TLS_CERT")),
        "{:?}",
        out.report.notes
    );
}
