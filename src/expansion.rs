//! Kubernetes' `$(VAR)` references, read exactly as the kubelet reads them
//! (`third_party/forked/golang/expansion`): `$$` is one literal `$`, `$(NAME)` is a reference,
//! a `$(` with no closing `)` and a `$` before any other character stay as written. What a
//! reference becomes (a defined variable's value, or its own `$(NAME)` text when undefined) is
//! the caller's mapping.

/// One piece of a string Kubernetes expands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text that stays as it is (with `$$` already read as `$`).
    Text(std::borrow::Cow<'a, str>),
    /// `$(NAME)`: replaced by NAME's value when NAME is defined, else kept as `$(NAME)`.
    Ref(&'a str),
}

/// The pieces of `input`, in order.
pub fn pieces(input: &str) -> Vec<Piece<'_>> {
    let bytes = input.as_bytes();
    let mut out: Vec<Piece<'_>> = Vec::new();
    let mut text = String::new();
    let mut start = 0;
    let mut i = 0;
    let flush = |text: &mut String, out: &mut Vec<Piece<'_>>| {
        if !text.is_empty() {
            out.push(Piece::Text(std::mem::take(text).into()));
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 == bytes.len() {
            i += 1;
            continue;
        }
        text.push_str(&input[start..i]);
        match bytes[i + 1] {
            b'$' => {
                text.push('$');
                i += 2;
            }
            b'(' => match input[i + 2..].find(')') {
                Some(end) => {
                    flush(&mut text, &mut out);
                    out.push(Piece::Ref(&input[i + 2..i + 2 + end]));
                    i += 2 + end + 1;
                }
                None => {
                    text.push_str("$(");
                    i += 2;
                }
            },
            _ => {
                // `$` before another character: both stay, and the scan goes on after them.
                let next = input[i + 1..].chars().next().map_or(1, char::len_utf8);
                text.push_str(&input[i..i + 1 + next]);
                i += 1 + next;
            }
        }
        start = i;
    }
    text.push_str(&input[start.min(input.len())..]);
    flush(&mut text, &mut out);
    out
}

/// The names `input` references with `$(NAME)`.
pub fn refs(input: &str) -> impl Iterator<Item = &str> {
    pieces(input).into_iter().filter_map(|p| match p {
        Piece::Ref(name) => Some(name),
        Piece::Text(_) => None,
    })
}

/// `input` expanded with `mapping` (None: undefined, kept as `$(NAME)`).
pub fn expand<'v>(input: &str, mapping: impl Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::new();
    for p in pieces(input) {
        match p {
            Piece::Text(t) => out.push_str(&t),
            Piece::Ref(name) => match mapping(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            },
        }
    }
    out
}

/// `text` written so that Kubernetes' expansion gives it back unchanged.
pub fn escape(text: &str) -> String {
    if text.contains("$(") || text.contains("$$") {
        text.replace('$', "$$")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k8s(input: &str) -> String {
        // The kubelet's own test table (expand_test.go), with VAR_A=A, VAR_B=B, VAR_C=C,
        // VAR_REF=$(VAR_A), VAR_EMPTY="".
        let defined = |n: &str| -> Option<&'static str> {
            match n {
                "VAR_A" => Some("A"),
                "VAR_B" => Some("B"),
                "VAR_C" => Some("C"),
                "VAR_REF" => Some("$(VAR_A)"),
                "VAR_EMPTY" => Some(""),
                _ => None,
            }
        };
        expand(input, defined)
    }

    #[test]
    fn expands_as_the_kubelet_does() {
        let cases = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_B)___", "___B___"),
            ("$(VAR_A)-$(VAR_A)", "A-A"),
            ("f000-$$VAR_A", "f000-$VAR_A"),
            ("foo\\$(VAR_C)bar", "foo\\Cbar"),
            ("foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
            ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
            ("$(VAR_REF)", "$(VAR_A)"),
            ("foo$(VAR_EMPTY)bar", "foobar"),
            ("$(VAR_EMPTY)", ""),
            ("$(", "$("),
            ("$(VAR_A", "$(VAR_A"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$(UNKNOWN)", "$(UNKNOWN)"),
            ("$()", "$()"),
            ("$?_boo_$!", "$?_boo_$!"),
            ("$VAR_A", "$VAR_A"),
            ("$$", "$"),
            ("$", "$"),
            ("foo$", "foo$"),
            ("$(ls -A /x 2>/dev/null)", "$(ls -A /x 2>/dev/null)"),
        ];
        for (input, want) in cases {
            assert_eq!(k8s(input), want, "{input}");
        }
    }

    #[test]
    fn escaped_text_comes_back_unchanged() {
        for text in ["a$(B)c", "$$", "plain", "x$y", "$(", "'$(A)'\"${B}\""] {
            assert_eq!(k8s(&escape(text)), text);
        }
        assert_eq!(refs("$(A)-$$(B)-$(C").collect::<Vec<_>>(), ["A"]);
    }
}
