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
//!
//! Numbers a `serde_json::Number` cannot hold as written (`.inf`, `-.inf`, `.nan`, an overflowing
//! `1e400`, an integer beyond 64 bits) keep their exact text: they are read as a one-key object
//! `{KEPT_NUMBER: "<text>"}` and written back as the bare number (see [`parse`]). Other finite
//! floats are written in the shortest form that reads back as the same `f64` (`1.50` as `1.5`).

use std::cell::RefCell;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

/// The key of the object that stands for a number kept as written. It begins with a private-use
/// character no chart writes; a document that holds it anyway (in a key or a string) is
/// refused, so that the writer never takes text of the input for a kept number.
pub const KEPT_NUMBER: &str = "\u{e000}vaultwire-number";

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

/// Reads one document. A document that may hold a number `serde_json` cannot keep as written
/// (a quick look at the text decides) is first read as YAML events, and each such plain
/// scalar in a value position is replaced, in a copy of the text, by the object that stands for
/// it (`{"<KEPT_NUMBER>": "1e400"}`); lines stay where they were, so errors name the same ones.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    if may_spell_the_reserved_text(text) {
        let value = parse_plain(text)?;
        if holds_the_reserved_text(&value) {
            return Err(ParseError {
                message: "a key or string holds U+E000 followed by 'vaultwire-number', which vaultwire reserves for the numbers it keeps as written".to_string(),
                line: None,
            });
        }
    }
    if may_hold_a_kept_number(text) {
        let spans = kept_number_spans(text);
        if !spans.is_empty() {
            let mut copy = String::with_capacity(text.len() + spans.len() * 32);
            let mut at = 0;
            for span in spans {
                copy.push_str(&text[at..span.start]);
                // A flow mapping is a node wherever the plain scalar was one.
                copy.push_str(&format!(
                    "{{\"{KEPT_NUMBER}\": \"{}\"}}",
                    &text[span.clone()]
                ));
                at = span.end;
            }
            copy.push_str(&text[at..]);
            return parse_plain(&copy);
        }
    }
    parse_plain(text)
}

fn parse_plain(text: &str) -> Result<Value, ParseError> {
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

/// A quick look at the text: could it hold `.inf` or `.nan` ending a word, an integer of 19
/// digits or more, or a number ending in an exponent of three digits or more (no float
/// overflows without one of the last two)? It may say yes for no such number (a hex digest,
/// a comment), never no for one; a word such as `.info`, or `e123` inside a digest, passes.
fn may_hold_a_kept_number(text: &str) -> bool {
    let b = text.as_bytes();
    let word_ends = |at: usize| b.get(at).is_none_or(|c| !c.is_ascii_alphanumeric());
    let mut digits = 0;
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            digits += 1;
            if digits >= 19 {
                return true;
            }
            continue;
        }
        let after_digit = digits > 0;
        digits = 0;
        let rest = &b[i + 1..];
        match c {
            b'.' if rest.len() >= 3 => {
                let word = &rest[..3];
                if (word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"nan"))
                    && word_ends(i + 4)
                {
                    return true;
                }
            }
            b'e' | b'E' if after_digit || i > 0 && b[i - 1] == b'.' => {
                let sign = usize::from(matches!(rest.first(), Some(b'+' | b'-')));
                let exponent = rest[sign..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                if exponent >= 3 && word_ends(i + 1 + sign + exponent) {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The byte ranges of the plain scalars, in value positions and without a tag, that are
/// numbers a `serde_json::Number` cannot hold as written. Empty when the text does not parse
/// (the real read reports why) or nests deeper than the limit.
fn kept_number_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    let mut spans = Vec::new();
    // One entry per open collection: `None` for a sequence, `Some(next is a key)` for a mapping.
    let mut open: Vec<Option<bool>> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else {
            return Vec::new();
        };
        let is_node = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
        );
        let is_key = match open.last_mut() {
            Some(Some(next_is_key)) if is_node => {
                *next_is_key = !*next_is_key;
                !*next_is_key
            }
            _ => false,
        };
        match event {
            Event::Scalar(scalar, ScalarStyle::Plain, _, None) if !is_key => {
                let range = span.start.byte_offset().zip(span.end.byte_offset());
                if let Some((start, end)) = range {
                    if text.get(start..end) == Some(&*scalar) && keeps_its_text(&scalar) {
                        spans.push(start..end);
                    }
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if open.len() >= crate::limits::MAX_DEPTH {
                    return Vec::new();
                }
                open.push(matches!(event, Event::MappingStart(..)).then_some(true));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
            }
            _ => {}
        }
    }
    spans
}

/// A plain scalar that reads as a number `serde_json` cannot hold as written: a non-finite
/// float (serde-saphyr hands it over as `.inf`, `-.inf` or `.nan` text) or an integer beyond
/// 64 bits (handed over as a rounded `f64`). Decided by reading the token alone, so that it is
/// exactly what the document's own read makes of it.
fn keeps_its_text(token: &str) -> bool {
    if !is_number_token(token) || !(token.len() > 18 || token.contains(['e', 'E', 'n', 'N'])) {
        return false;
    }
    match serde_saphyr::from_str_with_options::<Value>(token, options()) {
        Ok(Value::String(s)) => matches!(s.as_str(), ".inf" | "-.inf" | ".nan"),
        Ok(Value::Number(n)) => n.is_f64() && !token.contains(['.', 'e', 'E']),
        _ => false,
    }
}

/// What a number token may be made of: written bare, it can only read as one scalar.
fn is_number_token(token: &str) -> bool {
    let lower = token.to_ascii_lowercase();
    token.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
        && token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-' | b'_'))
        && (token.bytes().any(|c| c.is_ascii_digit())
            || lower.ends_with(".inf")
            || lower.ends_with(".nan"))
}

/// Could the text spell [`KEPT_NUMBER`]'s private-use character, as itself or escaped?
fn may_spell_the_reserved_text(text: &str) -> bool {
    let escaped = |prefix: &[u8]| {
        text.as_bytes()
            .windows(prefix.len())
            .any(|w| w[0] == b'\\' && w[1..].eq_ignore_ascii_case(&prefix[1..]))
    };
    text.contains('\u{e000}') || escaped(b"\\ue000") || escaped(b"\\U0000e000")
}

/// Whether a key or a string of the document holds [`KEPT_NUMBER`]: the writer would take
/// it for a kept number.
fn holds_the_reserved_text(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains(KEPT_NUMBER),
        Value::Array(items) => items.iter().any(holds_the_reserved_text),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(KEPT_NUMBER) || holds_the_reserved_text(v)),
        _ => false,
    }
}

/// The text of a number kept as written, when `value` is the object that stands for one.
pub fn kept_number(value: &Value) -> Option<&str> {
    let Value::Object(map) = value else {
        return None;
    };
    if map.len() != 1 {
        return None;
    }
    match map.get(KEPT_NUMBER) {
        Some(Value::String(token)) if is_number_token(token) => Some(token),
        _ => None,
    }
}

pub fn to_string(value: &Value) -> String {
    let kept = RefCell::new(Vec::new());
    // Serializing a serde_json::Value cannot fail: every key is a string.
    let mut text = serde_saphyr::to_string(&Writing { value, kept: &kept }).unwrap_or_default();
    let kept = kept.into_inner();
    if !kept.is_empty() {
        text = restore_kept_numbers(&text, &kept);
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A value as it is written: like `serde_json::Value`'s own `Serialize`, except that a kept
/// number is written as a placeholder (`<KEPT_NUMBER>#<n>#`, a plain scalar the serializer
/// never quotes or folds), replaced by the number's text afterwards.
struct Writing<'v> {
    value: &'v Value,
    kept: &'v RefCell<Vec<String>>,
}

impl Serialize for Writing<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let nested = |value| Writing {
            value,
            kept: self.kept,
        };
        if let Some(token) = kept_number(self.value) {
            let mut kept = self.kept.borrow_mut();
            let placeholder = format!("{KEPT_NUMBER}#{}#", kept.len());
            kept.push(token.to_string());
            return serializer.serialize_str(&placeholder);
        }
        match self.value {
            Value::Array(items) => serializer.collect_seq(items.iter().map(nested)),
            Value::Object(map) => serialize_map(map, serializer, nested),
            other => other.serialize(serializer),
        }
    }
}

fn serialize_map<'v, S: Serializer>(
    map: &'v Map<String, Value>,
    serializer: S,
    nested: impl Fn(&'v Value) -> Writing<'v>,
) -> Result<S::Ok, S::Error> {
    let mut out = serializer.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        out.serialize_entry(k, &nested(v))?;
    }
    out.end()
}

fn restore_kept_numbers(text: &str, kept: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(KEPT_NUMBER) {
        out.push_str(&rest[..i]);
        let after = &rest[i + KEPT_NUMBER.len()..];
        let number = after
            .strip_prefix('#')
            .and_then(|a| a.split_once('#'))
            .and_then(|(n, tail)| Some((kept.get(n.parse::<usize>().ok()?)?, tail)));
        match number {
            Some((token, tail)) => {
                out.push_str(token);
                rest = tail;
            }
            None => {
                out.push_str(KEPT_NUMBER);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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
    fn numbers_serde_json_cannot_hold_keep_their_text() {
        let src = "a: .inf\nb: -.inf\nc: .nan\nd: 123456789012345678901234567890\ne: 1e400\nf: .Inf\nh: -9223372036854775809\nj: +.inf\nl:\n- .inf\n- x: .NaN\nm: &x 1e+400\nn2: *x\nstr: '.inf'\nneg_nan: -.nan\n.inf: 1\nfloat: 1.5\nbig_u64: 18446744073709551615\nmode: 0644\n";
        let v = parse(src).unwrap();
        for (k, token) in [
            ("a", ".inf"),
            ("b", "-.inf"),
            ("c", ".nan"),
            ("d", "123456789012345678901234567890"),
            ("e", "1e400"),
            ("f", ".Inf"),
            ("h", "-9223372036854775809"),
            ("j", "+.inf"),
            ("m", "1e+400"),
            ("n2", "1e+400"),
        ] {
            assert_eq!(kept_number(&v[k]), Some(token), "{k}");
        }
        assert_eq!(kept_number(&v["l"][0]), Some(".inf"));
        assert_eq!(kept_number(&v["l"][1]["x"]), Some(".NaN"));
        assert_eq!(v["str"], ".inf", "a quoted .inf is a string");
        assert_eq!(v["neg_nan"], "-.nan", "no number in YAML's core schema");
        assert_eq!(v[".inf"], 1, "keys are text");
        assert_eq!(v["float"], 1.5);
        assert_eq!(v["big_u64"], u64::MAX);
        assert_eq!(v["mode"], 420);
        let out = to_string(&v);
        assert_eq!(
            out,
            "a: .inf\nb: -.inf\nc: .nan\nd: 123456789012345678901234567890\ne: 1e400\nf: .Inf\nh: -9223372036854775809\nj: +.inf\nl:\n- .inf\n- x: .NaN\nm: 1e+400\nn2: 1e+400\nstr: \".inf\"\nneg_nan: \"-.nan\"\n\".inf\": 1\nfloat: 1.5\nbig_u64: 18446744073709551615\nmode: 420\n"
        );
        assert_eq!(parse(&out).unwrap(), v);
        // a document that is one kept number, and a long one
        let long = format!("- {}\n- - .nan\n", "9".repeat(300));
        for src in [".inf\n", long.as_str()] {
            assert_eq!(to_string(&parse(src).unwrap()), src);
        }
    }

    #[test]
    fn errors_keep_their_line_where_numbers_are_kept() {
        // valid YAML events, so the numbers are replaced before the read that fails
        let err = parse("a: .inf\nb:\n  c: [1e400, 2]\n~: 2\n").unwrap_err();
        assert_eq!(err.line, Some(4), "{}", err.message);
        assert!(err.message.contains("is null"), "{}", err.message);
    }

    #[test]
    fn the_quick_look_finds_every_kept_number() {
        for text in [
            "a: .inf",
            "[-.NaN]",
            "a: 1.e400",
            "a: 1234567890123456789",
            "a: 1e400",
            "a: 1.5E+308",
        ] {
            assert!(may_hold_a_kept_number(text), "{text}");
        }
        for text in [
            "a: 1.5",
            "a: 123456789012345678",
            "image: nginx:1.25",
            "a: 1e30",
            "host: db.infra.svc",
            "url: https://example.info/x",
            "checksum/config: 5fe1234ab9e0",
            "name: file200",
        ] {
            assert!(!may_hold_a_kept_number(text), "{text}");
        }
    }

    #[test]
    fn the_reserved_key_is_refused() {
        for src in [
            "a: {\"\\ue000vaultwire-number\": \"1\"}\n",
            "a: \"\\U0000E000vaultwire-number#0#\"\n",
            "a: \"\u{e000}vaultwire-number\"\n",
        ] {
            let err = parse(src).unwrap_err();
            assert!(err.message.contains("reserves"), "{src}: {}", err.message);
        }
        assert!(parse("a: \"\\ue001\"\n").is_ok());
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
