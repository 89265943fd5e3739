//! Reading and writing one YAML document as a `serde_json::Value`, the Kubernetes way.
//!
//! YAML 1.1 octals (`0644`) read as numbers as Kubernetes reads them; strings that a YAML 1.1
//! reader would turn into something else (`"on"`, `"yes"`, `"0644"`, `"~"`) are written quoted.
//!
//! Mapping keys: a null key, or a sequence or mapping as a key, is an error (Kubernetes objects
//! have string keys). Any other scalar key is read as its text, the way sigs.k8s.io/yaml turns
//! non-string keys into strings: `1: a` and `true: b` give the keys `"1"` and `"true"`, as they
//! do in Kubernetes. A number key in another spelling keeps it (`0x10: a` gives `"0x10"` where
//! Kubernetes would read `"16"`), and a rewritten document writes such a key quoted.

use serde_json::Value;

/// A parse failure: the message (never a snippet of the input, which may hold a secret) and
/// the 1-based line inside the document, when known.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub line: Option<u64>,
}

/// Anchors and aliases are expanded within the budget of [`crate::limits`] (depth, nodes,
/// scalar bytes, aliases: billion-laughs bounded).
pub(crate) fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        with_snippet: false,
        non_finite_float_policy: serde_saphyr::options::NonFiniteFloatPolicy::AsString,
    };
    options.budget = Some(crate::limits::budget());
    options
}

/// The error itself, through the alias and snippet wrappers.
fn innermost(mut e: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match e {
            serde_saphyr::Error::AliasError { error, .. }
            | serde_saphyr::Error::WithSnippet { error, .. } => e = error,
            _ => return e,
        }
    }
}

pub fn parse(text: &str) -> Result<Value, ParseError> {
    serde_saphyr::from_str_with_options::<Value>(text, options()).map_err(|e| {
        let e = e.without_snippet();
        let line = e.location().map(|l| l.line());
        let message = match innermost(e) {
            serde_saphyr::Error::Budget { breach, .. } => crate::limits::describe(breach),
            // A `serde_json::Value` reads its keys, and only its keys, as strings: these two are
            // keys that are no strings, in serde's words ("cannot deserialize null into
            // string", "expected string scalar").
            serde_saphyr::Error::NullIntoString { .. } => {
                "a mapping key is null: Kubernetes objects need string keys".to_string()
            }
            serde_saphyr::Error::Unexpected {
                expected: "string scalar",
                ..
            } => "a mapping key is a sequence or a mapping: Kubernetes objects need string keys"
                .to_string(),
            _ => describe(e),
        };
        ParseError { message, line }
    })
}

fn describe(e: &serde_saphyr::Error) -> String {
    // The rendered message ends with "at line L, column C"; the caller places the line itself.
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    // serde-saphyr's advice to its own callers means nothing to a user.
    let message = match message.find(", set DuplicateKeyPolicy") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    if message.contains("recursion limit exceeded") {
        crate::limits::depth_message()
    } else {
        message
    }
}

pub fn to_string(value: &Value) -> String {
    // Serializing a serde_json::Value cannot fail: every key is a string.
    let mut text = serde_saphyr::to_string(value).unwrap_or_default();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_strings_survive_a_round_trip() {
        let src = "a: \"on\"\nb: \"yes\"\nc: \"0644\"\nd: \"1e3\"\ne: \"~\"\nf: \"null\"\ng: \"y\"\nh: \"NO\"\n";
        let v = parse(src).unwrap();
        let again = parse(&to_string(&v)).unwrap();
        assert_eq!(v, again);
        for k in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            assert!(again[k].is_string(), "{k} lost its string type");
        }
    }

    #[test]
    fn legacy_octal_reads_as_kubernetes_does() {
        assert_eq!(parse("mode: 0644\n").unwrap()["mode"], 420);
    }

    #[test]
    fn keys_that_are_no_strings() {
        for (src, line, what) in [
            ("~: 1\n", 1, "null"),
            ("null: 1\n", 1, "null"),
            ("a:\n  ? \n  : 1\n", 3, "null"),
            ("a:\n  b: 1\n  [x]: 1\n", 3, "a sequence or a mapping"),
            ("? {a: 1}\n: 1\n", 1, "a sequence or a mapping"),
            ("? : x\n", 1, "a sequence or a mapping"),
        ] {
            let err = parse(src).unwrap_err();
            assert_eq!(
                err.message,
                format!("a mapping key is {what}: Kubernetes objects need string keys"),
                "{src:?}"
            );
            assert_eq!(err.line, Some(line), "{src:?}");
        }
        let v = parse("1: a\ntrue: b\n0x10: c\n1.5: d\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"1": "a", "true": "b", "0x10": "c", "1.5": "d"})
        );
    }

    #[test]
    fn parse_errors_carry_no_input_text() {
        let err = parse("password: hunter2\n  bad: [").unwrap_err();
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        assert_eq!(err.line, Some(2));
    }
}
