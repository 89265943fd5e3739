//! The reference model (issue 9) over generated streams, through the binary: ONE key name,
//! `password`, in several Secrets with random values (some equal, some different), Deployments
//! reading random ones by `secretKeyRef` or through `envFrom` (with or without a prefix), and an
//! unknown kind (`Widget`, `spec.auth: {name, key}`) referencing `(Secret, key)`.
//!
//! Full mode without `-k`: exit 0, never two different values behind one field of the synced
//! Secret, every `(Secret, key)` a Widget references still in the output with its value,
//! idempotent. Partial mode with the bare `-k password`: exit 1 exactly when two of the Secrets
//! hold different values (every generated Secret is read by some pod, so the Secrets that hold
//! the key and the Secrets that pods read are the same set).

use crate::refs_reader::{
    args, b64, check_reads_field, command, containers, entry_key_ref, env, env_from, env_name,
    merged_fields, plaintexts_by_field, pods, rendered, ObjRef,
};
use crate::support::{read_stream, run_vaultwire};
use proptest::prelude::*;

const KEY: &str = "password";
const VALUES: [&str; 3] = ["pw-alpha-0001", "pw-bravo-0002", "pw-charlie-0003"];

#[derive(Debug, Clone)]
struct SecretSpec {
    /// Index into `VALUES`.
    value: usize,
    /// Also holds `user` (a value of its own).
    with_user: bool,
    /// `data` (base64) rather than `stringData`.
    as_data: bool,
}

#[derive(Debug, Clone)]
struct DeploySpec {
    /// Secrets whose `password` an env entry reads by `secretKeyRef`.
    reads: Vec<usize>,
    /// A Secret the container `envFrom`s, and whether with `prefix: APP_`.
    env_from: Option<(usize, bool)>,
}

#[derive(Debug, Clone)]
struct WidgetSpec {
    secret: usize,
    /// References `user` instead of `password`.
    user_key: bool,
}

#[derive(Debug, Clone)]
struct World {
    secrets: Vec<SecretSpec>,
    deployments: Vec<DeploySpec>,
    widgets: Vec<WidgetSpec>,
}

fn secret_name(i: usize) -> String {
    format!("cred-{i}")
}

fn user_value(i: usize) -> String {
    format!("user-login-{i}")
}

impl World {
    /// Every Secret read by some pod; Widgets reference only keys their Secret holds.
    fn fixed(mut self) -> Self {
        let mut read = vec![false; self.secrets.len()];
        for d in &self.deployments {
            for &r in &d.reads {
                read[r] = true;
            }
            if let Some((s, _)) = d.env_from {
                read[s] = true;
            }
        }
        let unread: Vec<usize> = (0..read.len()).filter(|&i| !read[i]).collect();
        if !unread.is_empty() {
            self.deployments.push(DeploySpec {
                reads: unread,
                env_from: None,
            });
        }
        for w in &mut self.widgets {
            if !self.secrets[w.secret].with_user {
                w.user_key = false;
            }
        }
        self
    }

    fn distinct_passwords(&self) -> usize {
        let mut v: Vec<usize> = self.secrets.iter().map(|s| s.value).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.secrets.iter().enumerate() {
            let mut data = vec![(KEY.to_string(), VALUES[s.value].to_string())];
            if s.with_user {
                data.push(("user".to_string(), user_value(i)));
            }
            let (field, encode): (&str, fn(&str) -> String) = if s.as_data {
                ("data", b64)
            } else {
                ("stringData", |v: &str| v.to_string())
            };
            out.push_str(&format!(
                "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {}\n{field}:\n",
                secret_name(i)
            ));
            for (k, v) in data {
                out.push_str(&format!("  {k}: \"{}\"\n", encode(&v)));
            }
        }
        for (j, d) in self.deployments.iter().enumerate() {
            out.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{j}\nspec:\n  selector:\n    matchLabels:\n      app: web-{j}\n  template:\n    metadata:\n      labels:\n        app: web-{j}\n    spec:\n      containers:\n      - name: app\n        image: example/app:1\n"
            ));
            if let Some((s, p)) = d.env_from {
                let pre = if p {
                    "        - prefix: APP_\n          secretRef:\n"
                } else {
                    "        - secretRef:\n"
                };
                out.push_str(&format!(
                    "        envFrom:\n{pre}            name: {}\n",
                    secret_name(s)
                ));
            }
            if !d.reads.is_empty() {
                out.push_str("        env:\n");
                for (n, &r) in d.reads.iter().enumerate() {
                    out.push_str(&format!(
                        "        - name: P{n}\n          valueFrom:\n            secretKeyRef:\n              name: {}\n              key: {KEY}\n",
                        secret_name(r)
                    ));
                }
            }
        }
        for (n, w) in self.widgets.iter().enumerate() {
            out.push_str(&format!(
                "---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: widget-{n}\nspec:\n  auth:\n    name: {}\n    key: {}\n",
                secret_name(w.secret),
                if w.user_key { "user" } else { KEY }
            ));
        }
        out
    }
}

fn world() -> impl Strategy<Value = World> {
    (2usize..=4).prop_flat_map(|n| {
        let secrets = prop::collection::vec(
            (0..VALUES.len(), any::<bool>(), any::<bool>()).prop_map(
                |(value, with_user, as_data)| SecretSpec {
                    value,
                    with_user,
                    as_data,
                },
            ),
            n,
        );
        let deployments = prop::collection::vec(
            (
                prop::collection::vec(0..n, 0..3),
                prop::option::of((0..n, any::<bool>())),
            )
                .prop_map(|(reads, env_from)| DeploySpec { reads, env_from }),
            1..4,
        );
        let widgets = prop::collection::vec(
            (0..n, any::<bool>()).prop_map(|(secret, user_key)| WidgetSpec { secret, user_key }),
            0..3,
        );
        (secrets, deployments, widgets).prop_map(|(secrets, deployments, widgets)| {
            World {
                secrets,
                deployments,
                widgets,
            }
            .fixed()
        })
    })
}

proptest! {
    // Every case runs the binary two or three times; no regression file (the generator is
    // small enough that shrinking finds the minimal world again).
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn full_mode_never_merges_different_values_and_keeps_what_widgets_read(w in world()) {
        let input = w.render();
        let ins = read_stream(&input).expect("generated stream parses");
        let objs = rendered(&ins);
        let a = args(crate::support::Mode::Full, &[], &[]);
        let run = run_vaultwire(&a, &input);
        prop_assert_eq!(run.code, Some(0), "{}: stderr: {}\ninput:\n{}", command(&a), run.stderr, input);
        let outs = read_stream(&run.stdout).expect("output parses");
        let merged = merged_fields(&plaintexts_by_field(crate::support::Mode::Full, &ins, &outs, &objs));
        prop_assert!(merged.is_empty(), "{:?}\ninput:\n{}\noutput:\n{}", merged, input, run.stdout);
        let out_objs = rendered(&outs);
        for (n, widget) in w.widgets.iter().enumerate() {
            let secret = ObjRef::secret(&secret_name(widget.secret));
            let key = if widget.user_key { "user" } else { KEY };
            let before = objs.get(&secret).and_then(|o| o.plaintext(key)).map(str::to_string);
            let after = out_objs.get(&secret).and_then(|o| o.plaintext(key)).map(str::to_string);
            prop_assert!(
                before.is_some() && before == after,
                "Widget 'widget-{}' references {} key {}: it must stay in the output with its value\ninput:\n{}\noutput:\n{}",
                n, secret, key, input, run.stdout
            );
        }
        let again = run_vaultwire(&a, &run.stdout);
        prop_assert_eq!(again.code, Some(0), "second run: {}", again.stderr);
        prop_assert_eq!(&again.stdout, &run.stdout, "not idempotent\ninput:\n{}", input);
    }

    #[test]
    fn a_bare_key_is_refused_exactly_when_its_secrets_differ(w in world()) {
        let input = w.render();
        let a = args(crate::support::Mode::Partial, &[KEY], &[]);
        let run = run_vaultwire(&a, &input);
        let differ = w.distinct_passwords() > 1;
        let want = if differ { 1 } else { 0 };
        prop_assert_eq!(
            run.code, Some(want),
            "{}: {} distinct values of {} among the Secrets; stderr: {}\ninput:\n{}",
            command(&a), w.distinct_passwords(), KEY, run.stderr, input
        );
        if differ {
            prop_assert!(run.stdout.is_empty(), "an error must leave stdout empty");
            return Ok(());
        }
        // One secret: every reader reads field `password` of the synced Secret.
        let ins = read_stream(&input).expect("generated stream parses");
        let outs = read_stream(&run.stdout).expect("output parses");
        for d in &ins {
            for pod in pods(&d.value) {
                for c in containers(&d.value, &pod) {
                    let out_doc = outs
                        .iter()
                        .find(|o| o.ident() == d.ident())
                        .expect("every Deployment is in the output");
                    let out_c = containers(&out_doc.value, &pod)
                        .into_iter()
                        .find(|x| x.name == c.name)
                        .expect("container kept");
                    let out_env = env(&out_doc.value, &out_c);
                    let mut wanted: Vec<String> = env(&d.value, &c)
                        .iter()
                        .filter(|e| entry_key_ref(e).is_some_and(|(_, k)| k == KEY))
                        .map(|e| env_name(e).to_string())
                        .collect();
                    wanted.extend(env_from(&d.value, &c).iter().map(|f| format!("{}{KEY}", f.prefix)));
                    for name in wanted {
                        let entry = out_env.iter().find(|e| env_name(e) == name);
                        let checked = entry
                            .ok_or_else(|| "missing".to_string())
                            .and_then(|e| check_reads_field(crate::support::Mode::Partial, &out_doc.value, &pod, &name, e, KEY));
                        prop_assert!(
                            checked.is_ok(),
                            "{} container '{}' env {}: {:?}\ninput:\n{}\noutput:\n{}",
                            pod.label(), c.name, name, checked, input, run.stdout
                        );
                    }
                }
            }
        }
    }
}
