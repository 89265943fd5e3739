//! `vaultwire lint` on every shared Portkey render: what it must find in each, and that
//! vaultwire's own output of the same render lints clean.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vaultwire::lint::lint;
use vaultwire::Config;

fn shared(dir: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(dir);
    p.is_dir().then_some(p)
}

fn rules(text: &str, config: &Config) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for f in lint(text, config).unwrap() {
        *counts.entry(f.rule).or_default() += 1;
    }
    counts
}

/// What each scenario of the integration document must be caught at.
fn expected(scenario: &str) -> &'static [(&'static str, usize)] {
    match scenario {
        // the lower-case trap: 4 keys in the gateway and 4 + 2 aliases in the dataservice
        "option-b-mount-files" => &[("unwritten-file", 10)],
        // the lookup trap: every key renders as a literal, the Vault keys as ""
        "option-a-existing-secret" | "option-c-full-existing-secret" => &[("lookup-literal", 0)],
        // env reads a Secret nothing creates: one finding per container
        "use-vault-injection" | "option-a-secret-keys" => &[("missing-secret", 2)],
        _ => &[],
    }
}

#[test]
fn every_render_gets_the_findings_of_its_trap() {
    let Some(dir) = shared("portkey") else {
        eprintln!("note: ../shared not here; lint fixture test not run");
        return;
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(scenario) = name.split("--").nth(1).and_then(|s| s.split('.').next()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let mut found = rules(&text, &Config::default());
        // Literal secrets are their own rule, tested in tests/it/references.rs: here only
        // the integration document's traps are counted.
        found.remove("literal-secret");
        let want = expected(scenario);
        assert_eq!(found.len(), want.len(), "{name}: {found:?}");
        for (rule, count) in want {
            let got = found.get(rule).copied().unwrap_or(0);
            // 0 means "some": the number of empty literals differs between chart versions
            assert!(
                if *count == 0 { got > 0 } else { got == *count },
                "{name}: {rule}: {got}"
            );
        }
        // what vaultwire makes of it (partial mode with ESO) lints clean of the traps it fixes
        let mut cfg = Config::from_yaml(
            "mode: partial\nexistingSecret: portkey-gateway-env\nkeys: [PORTKEY_CLIENT_AUTH, ANALYTICS_STORE_USER, ANALYTICS_STORE_PASSWORD, REDIS_URL]\nvault: {secretPath: kv/data/portkey/gateway/config}\noperators: {externalSecrets: {enabled: true}}\n",
        )
        .unwrap();
        let after = rules(&text, &cfg);
        assert!(!after.contains_key("missing-secret"), "{name}: {after:?}");
        cfg.mode = Some(vaultwire::Mode::Mount);
        cfg.operators = Default::default();
        cfg.vault.role = Some("portkey-gateway".into());
        let mounted = rules(&text, &cfg);
        assert!(
            !mounted.contains_key("unwritten-file") && !mounted.contains_key("job-sidecar"),
            "{name}: {mounted:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 30);
}

#[test]
fn lint_rules_on_small_streams() {
    let job = "kind: Job\nmetadata: {name: j}\nspec:\n  template:\n    metadata:\n      annotations:\n        vault.hashicorp.com/agent-inject: \"true\"\n        vault.hashicorp.com/agent-inject-secret-A_VERY_LONG_NAME_THAT_IS_LONGER_THAN_THE_SIXTY_THREE_CHARACTERS_LIMIT: kv/a\n    spec:\n      containers:\n      - name: c\n        env:\n        - {name: X, value: /vault/secrets/X}\n";
    let found: Vec<String> = lint(job, &Config::default())
        .unwrap()
        .iter()
        .map(|f| f.to_string())
        .collect();
    let all = found.join("\n");
    assert!(all.contains("job-sidecar: document 1 (Job 'j')"), "{all}");
    assert!(all.contains("annotation-name:"), "{all}");
    assert!(all.contains("unwritten-file: document 1 (Job 'j'): container 'c': env 'X': points to /vault/secrets/X"), "{all}");
    let dup = "kind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: x\n    a: y\n";
    let found = lint(dup, &Config::default()).unwrap();
    assert_eq!(found[0].rule, "duplicate-key");
    assert!(found[0].message.contains("line 6"), "{}", found[0].message);
}
