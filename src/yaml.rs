//! Reading and writing one YAML document as a `serde_json::Value`, the Kubernetes way.
//!
//! YAML 1.1 octals (`0644`) read as numbers as Kubernetes reads them; strings that a YAML 1.1
//! reader would turn into something else (`"on"`, `"yes"`, `"0644"`, `"~"`) are written quoted.

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

/// The budget breach behind a parse error, through the alias and snippet wrappers.
fn breach(mut e: &serde_saphyr::Error) -> Option<&serde_saphyr::budget::BudgetBreach> {
    loop {
        match e {
            serde_saphyr::Error::Budget { breach, .. } => return Some(breach),
            serde_saphyr::Error::AliasError { error, .. }
            | serde_saphyr::Error::WithSnippet { error, .. } => e = error,
            _ => return None,
        }
    }
}

pub fn parse(text: &str) -> Result<Value, ParseError> {
    serde_saphyr::from_str_with_options::<Value>(text, options()).map_err(|e| {
        let e = e.without_snippet();
        let line = e.location().map(|l| l.line());
        if let Some(b) = breach(e) {
            return ParseError {
                message: crate::limits::describe(b),
                line,
            };
        }
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
        let message = if message.contains("recursion limit exceeded") {
            crate::limits::depth_message()
        } else {
            message
        };
        ParseError { message, line }
    })
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
    fn parse_errors_carry_no_input_text() {
        let err = parse("password: hunter2\n  bad: [").unwrap_err();
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        assert_eq!(err.line, Some(2));
    }
}
