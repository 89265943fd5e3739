//! Splitting a rendered stream into documents and joining it back, keeping the exact bytes of
//! every document vaultwire does not change.

use std::borrow::Cow;

/// The Helm 4 annotation that names each document's template file.
pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

const BOM: &str = "\u{feff}";

/// One document of the stream, as it stands in the input.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// The marker that opened it (`---\n`, `--- `, `...\n`), empty for a first document without
    /// one. YAML directives (`%YAML 1.1`, `%TAG ...`) belong to the document their `---` opens:
    /// they are part of its marker (`%YAML 1.1\n---\n`), see [`Chunk::directives`].
    pub marker: &'a str,
    /// Everything after the marker up to the next marker.
    pub body: &'a str,
    /// 1-based line of the input where the body starts.
    pub first_line: usize,
}

impl<'a> Chunk<'a> {
    /// The exact input bytes of this document.
    pub fn raw(&self) -> String {
        format!("{}{}", self.marker, self.body)
    }

    /// The directive lines before the `---` that opens the document (with any comment or blank
    /// lines among them), empty for most documents.
    pub fn directives(&self) -> &'a str {
        if !self.marker.starts_with('%') {
            return "";
        }
        // The `---` line is the marker's last line.
        let last = self.marker.trim_end_matches(['\n', '\r']);
        let end = last.rfind('\n').map_or(0, |i| i + 1);
        &self.marker[..end]
    }

    /// The text to hand the YAML parser: the body, or, when the document has directives, the
    /// directives, its `---` and the body (a `%TAG` handle means nothing without its directive).
    pub fn document(&self) -> Cow<'a, str> {
        if self.directives().is_empty() {
            Cow::Borrowed(self.body)
        } else {
            Cow::Owned(self.raw())
        }
    }

    /// The line of the input where [`Chunk::document`] starts.
    pub fn document_first_line(&self) -> usize {
        if self.directives().is_empty() {
            self.first_line
        } else {
            self.first_line - self.marker.matches('\n').count()
        }
    }

    /// True when the document holds nothing but blank lines and comments.
    pub fn is_blank(&self) -> bool {
        self.body.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        })
    }

    /// The comment and blank lines before the first content line (Helm 3's `# Source:`).
    pub fn leading_comments(&self) -> &'a str {
        let mut end = 0;
        for line in self.body.split_inclusive('\n') {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                end += line.len();
            } else {
                break;
            }
        }
        &self.body[..end]
    }

    pub fn uses_crlf(&self) -> bool {
        self.body.contains("\r\n")
    }

    /// The template file: Helm 3's `# Source:` comment or Helm 4's filename annotation, read as
    /// text so that even a document that does not parse can be named.
    pub fn source(&self) -> Option<String> {
        for line in self.body.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("# Source:") {
                return Some(rest.trim().to_string());
            }
            if let Some(rest) = t.strip_prefix(FILENAME_ANNOTATION) {
                if let Some(v) = rest.trim_start_matches(['"', '\'']).strip_prefix(':') {
                    return Some(unquote(v.trim()).to_string());
                }
            }
        }
        None
    }

    /// The value of a top-level `kind:` line, if the document is in block style.
    pub fn top_level_kind(&self) -> Option<&'a str> {
        self.body.lines().find_map(|line| {
            let rest = line.strip_prefix("kind:")?;
            let value = rest.split(" #").next().unwrap_or(rest).trim();
            Some(unquote(value))
        })
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim_end_matches('\r');
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// A stream cut into documents. `bom` is a leading UTF-8 byte-order mark, kept for output.
#[derive(Debug, Clone)]
pub struct Stream<'a> {
    pub bom: &'a str,
    pub chunks: Vec<Chunk<'a>>,
}

fn is_marker(line: &str) -> bool {
    if !line.starts_with("---") && !line.starts_with("...") {
        return false;
    }
    let l = line.trim_end_matches(['\n', '\r']);
    l == "---" || l == "..." || l.starts_with("--- ") || l.starts_with("---\t")
}

/// A directive line (`%YAML 1.2`, `%TAG ! tag:example.com,2000:`, a reserved `%NAME`).
fn is_directive(line: &str) -> bool {
    line.strip_prefix('%')
        .is_some_and(|rest| rest.starts_with(|c: char| !c.is_whitespace()))
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Cuts the input on document markers at column 0. A marker line with content after `--- `
/// keeps that content in the document it opens. Directive lines right before a `---` (comments
/// and blank lines may sit among them) go with the document that `---` opens, as part of its
/// marker; YAML 1.2 wants a `...` before them when a document precedes, but a directive after a
/// document without one is accepted all the same. After [`crate::limits::MAX_DOCUMENTS`]
/// documents it stops cutting: the rest is one last chunk, which the reader refuses, so a
/// storm of markers costs no more than one pass.
pub fn split(input: &str) -> Stream<'_> {
    let (bom, text) = match input.strip_prefix(BOM) {
        Some(rest) => (BOM, rest),
        None => ("", input),
    };
    let mut chunks = Vec::new();
    let mut marker: &str = "";
    let mut body_start = 0;
    let mut body_line = 1;
    let mut offset = 0;
    // Where the directive lines seen since the last content line begin.
    let mut directives: Option<usize> = None;
    for (line_no, line) in (1..).zip(text.split_inclusive('\n')) {
        if chunks.len() >= crate::limits::MAX_DOCUMENTS {
            break;
        }
        if is_marker(line) {
            // Directives open a document only with `---`; before `...` they stay where they are
            // (and fail to parse there, as they should).
            let start = match directives.take() {
                Some(start) if line.starts_with("---") => start,
                _ => offset,
            };
            if start > 0 || !marker.is_empty() {
                chunks.push(Chunk {
                    marker,
                    body: &text[body_start..start],
                    first_line: body_line,
                });
            }
            // `--- content`: the marker is the three dashes, the content belongs to the body.
            let marker_len = if line.trim_end_matches(['\n', '\r']).len() > 3 {
                3
            } else {
                line.len()
            };
            marker = &text[start..offset + marker_len];
            body_start = offset + marker_len;
            body_line = if marker_len == line.len() {
                line_no + 1
            } else {
                line_no
            };
        } else if is_directive(line) {
            directives.get_or_insert(offset);
        } else if directives.is_some() && !is_comment_or_blank(line) {
            directives = None;
        }
        offset += line.len();
    }
    if body_start < text.len() || !marker.is_empty() || chunks.is_empty() {
        chunks.push(Chunk {
            marker,
            body: &text[body_start..],
            first_line: body_line,
        });
    }
    Stream { bom, chunks }
}

/// A rewritten document's YAML, held until the whole stream is wired (nothing is written
/// before the last document is checked). Long texts are held LZ4-compressed: rendered
/// Kubernetes YAML repeats itself, and mount mode makes a workload's text several times
/// longer, so holding it plain would make the output, not the input, set the peak memory.
#[derive(Debug, Clone)]
pub enum Held {
    Plain(String),
    Packed(Vec<u8>),
}

impl Held {
    const PACK_FROM: usize = 512;

    pub fn new(text: String) -> Self {
        if text.len() < Self::PACK_FROM {
            Held::Plain(text)
        } else {
            Held::Packed(lz4_flex::compress_prepend_size(text.as_bytes()))
        }
    }

    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Held::Plain(text) => std::borrow::Cow::Borrowed(text),
            // What was packed is a String, so it unpacks to UTF-8; a failure here would be a
            // bug in the codec, and must not be a panic.
            Held::Packed(bytes) => std::borrow::Cow::Owned(
                lz4_flex::decompress_size_prepended(bytes)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
            ),
        }
    }
}

impl From<String> for Held {
    fn from(text: String) -> Self {
        Held::Plain(text)
    }
}

impl From<&str> for Held {
    fn from(text: &str) -> Self {
        Held::Plain(text.to_string())
    }
}

/// What to write for one document.
pub enum Emit<'a> {
    /// The input bytes, untouched.
    Original(Chunk<'a>),
    /// Re-serialized YAML; the marker and leading comments of the chunk are kept.
    Rewritten(Chunk<'a>, Held),
    /// A document vaultwire adds, with its own `# Source:` comment when the stream uses them.
    Added {
        source: Option<String>,
        yaml: String,
    },
    Dropped,
}

pub fn join(bom: &str, parts: &[Emit<'_>]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write(bom, parts, &mut out);
    out
}

/// Writes the stream piece by piece, so a caller can send it on without one more copy.
pub fn write(bom: &str, parts: &[Emit<'_>], out: &mut dyn std::fmt::Write) -> std::fmt::Result {
    let mut out = Sink {
        out,
        empty: true,
        at_line_start: true,
    };
    out.push(bom)?;
    for part in parts {
        match part {
            Emit::Original(chunk) => {
                out.push(chunk.marker)?;
                out.push(chunk.body)?;
            }
            Emit::Rewritten(chunk, held) => {
                let yaml = held.text();
                let newline = if chunk.uses_crlf() { "\r\n" } else { "\n" };
                out.line_start(newline)?;
                if !chunk.marker.is_empty() {
                    out.push(chunk.marker.trim_end_matches(['\n', '\r']).trim_end())?;
                    out.push(newline)?;
                }
                out.push(chunk.leading_comments())?;
                if newline == "\r\n" {
                    out.push(&yaml.replace('\n', "\r\n"))?;
                } else {
                    out.push(&yaml)?;
                }
            }
            Emit::Added { source, yaml } => {
                out.line_start("\n")?;
                if !out.empty {
                    out.push("---\n")?;
                }
                if let Some(src) = source {
                    out.push(&format!("# Source: {src}\n"))?;
                }
                out.push(yaml)?;
            }
            Emit::Dropped => {}
        }
    }
    Ok(())
}

/// Remembers how the text written so far ends.
struct Sink<'w> {
    out: &'w mut dyn std::fmt::Write,
    empty: bool,
    at_line_start: bool,
}

impl Sink<'_> {
    fn push(&mut self, s: &str) -> std::fmt::Result {
        if let Some(&last) = s.as_bytes().last() {
            self.empty = false;
            self.at_line_start = last == b'\n';
        }
        self.out.write_str(s)
    }

    fn line_start(&mut self, newline: &str) -> std::fmt::Result {
        if self.at_line_start {
            return Ok(());
        }
        self.push(newline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn originals<'a>(s: &'a Stream<'a>) -> Vec<Emit<'a>> {
        s.chunks.iter().copied().map(Emit::Original).collect()
    }

    #[test]
    fn split_and_join_is_the_identity() {
        for input in [
            "",
            "a: 1\n",
            "---\n# Source: x.yaml\na: 1\n---\nb: 2",
            "a: 1\n---\n\n---\n# only a comment\n...\n",
            "\u{feff}---\r\na: 1\r\n---\r\nb: 2\r\n",
            "--- {a: 1}\n--- !!map\nb: 2\n",
            "%YAML 1.1\n---\na: 1\n",
            "a: 1\n%YAML 1.1\n---\nb: 2\n",
            "a: 1\n...\n%YAML 1.2\n%TAG !e! tag:example.com,2000:\n# c\n\n--- !e!x\nb: 2\n",
            "---\r\na: 1\r\n%YAML 1.1\r\n---\r\nb: 2\r\n",
            "a: 1\n%YAML 1.1\nb: 2\n...\n%TAG ! x\n...\n",
            "%YAML 1.1\n",
        ] {
            let s = split(input);
            assert_eq!(join(s.bom, &originals(&s)), input, "{input:?}");
        }
    }

    #[test]
    fn directives_open_the_document_of_their_marker() {
        let s = split("a: 1\n# keep\n%YAML 1.1\n# among\n%TAG !e! tag:example.com,2000:\n---\nb: !e!x 2\n...\n%YAML 1.1\n--- {c: 3}\n");
        let parts: Vec<_> = s.chunks.iter().map(|c| (c.marker, c.body)).collect();
        assert_eq!(
            parts,
            [
                ("", "a: 1\n# keep\n"),
                (
                    "%YAML 1.1\n# among\n%TAG !e! tag:example.com,2000:\n---\n",
                    "b: !e!x 2\n"
                ),
                ("...\n", ""),
                ("%YAML 1.1\n---", " {c: 3}\n"),
            ]
        );
        let tagged = s.chunks[1];
        assert_eq!(
            tagged.directives(),
            "%YAML 1.1\n# among\n%TAG !e! tag:example.com,2000:\n"
        );
        assert_eq!((tagged.first_line, tagged.document_first_line()), (7, 3));
        assert_eq!(tagged.document(), tagged.raw());
        let flow = s.chunks[3];
        assert_eq!(flow.directives(), "%YAML 1.1\n");
        assert_eq!((flow.first_line, flow.document_first_line()), (10, 9));
        assert_eq!(s.chunks[0].directives(), "");
        assert_eq!(s.chunks[0].document(), "a: 1\n# keep\n");
        // without a `---` after them, directives are content (and the parser refuses them)
        let s = split("a: 1\n%YAML 1.1\nb: 2\n");
        assert_eq!(s.chunks.len(), 1);
    }

    #[test]
    fn documents_know_their_source_and_kind() {
        let s = split("---\n# Source: chart/templates/a.yaml\nkind: Deployment\n---\nkind: 'Secret'\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'chart/templates/b.yaml'\n");
        assert_eq!(s.chunks.len(), 2);
        assert_eq!(
            s.chunks[0].source().as_deref(),
            Some("chart/templates/a.yaml")
        );
        assert_eq!(s.chunks[0].top_level_kind(), Some("Deployment"));
        assert_eq!(
            s.chunks[1].source().as_deref(),
            Some("chart/templates/b.yaml")
        );
        assert_eq!(s.chunks[1].top_level_kind(), Some("Secret"));
        assert_eq!(s.chunks[1].first_line, 5);
    }

    #[test]
    fn held_text_comes_back_as_it_went_in() {
        let long = "metadata:\n  annotations:\n    a: \"é ✓ 🔑\"\n".repeat(40);
        for text in ["", "a: 1\n", long.as_str()] {
            let held = Held::new(text.to_string());
            assert_eq!(held.text(), text);
        }
        assert!(matches!(Held::new(long.clone()), Held::Packed(ref b) if b.len() < long.len() / 4));
    }

    #[test]
    fn rewritten_documents_keep_marker_comments_and_line_ends() {
        let s = split("---\r\n# Source: a.yaml\r\na: 1\r\n");
        let out = join(s.bom, &[Emit::Rewritten(s.chunks[0], "a: 2\n".into())]);
        assert_eq!(out, "---\r\n# Source: a.yaml\r\na: 2\r\n");
        let s = split("a: 1\n%YAML 1.1\n--- # Source: b.yaml\nb: 1\n");
        let out = join(
            s.bom,
            &[
                Emit::Original(s.chunks[0]),
                Emit::Rewritten(s.chunks[1], "b: 2\n".into()),
            ],
        );
        assert_eq!(out, "a: 1\n%YAML 1.1\n---\n # Source: b.yaml\nb: 2\n");
    }
}
