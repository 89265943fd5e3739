//! What vaultwire reads at most, so that a hostile or broken stream ends in a clear error,
//! never in a crash, a hang or an unbounded allocation. Every limit is far above what a real
//! chart renders; none is configurable (a render that reaches one is almost certainly wrong).
//!
//! | limit | default | checked |
//! |---|---|---|
//! | input size | 256 MiB | the whole stream, before any document is parsed |
//! | documents | 100,000 | while splitting: the splitter stops cutting after the limit |
//! | nesting depth | 200 | in each parsed document (maps and sequences) |
//! | nodes | 1,000,000 | in each parsed document |
//! | scalar text | 64 MiB | in each parsed document: one huge scalar, or all together |
//! | aliases | 10,000 | in each parsed document, and at most 10 per anchor (billion laughs) |
//!
//! Documents vaultwire does not parse (kinds it never reads) pass through as bytes and are
//! bounded by the input size alone.

use crate::error::{Error, ErrorKind, Place, Result};
use crate::stream::Chunk;

pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;
pub const MAX_DOCUMENTS: usize = 100_000;
pub const MAX_DEPTH: usize = 200;
pub const MAX_NODES: usize = 1_000_000;
pub const MAX_SCALAR_BYTES: usize = 64 * 1024 * 1024;
pub const MAX_ALIASES: usize = 10_000;

/// Input size and document count, over the documents [`crate::stream::split`] cut.
pub fn check_stream(chunks: &[Chunk<'_>]) -> Result<()> {
    let bytes: usize = chunks.iter().map(|c| c.marker.len() + c.body.len()).sum();
    if bytes > MAX_INPUT_BYTES {
        return Err(Error::new(
            ErrorKind::Yaml,
            format!(
                "the input is {} bytes, over the limit of {} ({MAX_INPUT_BYTES} bytes)",
                bytes,
                size(MAX_INPUT_BYTES)
            ),
        ));
    }
    if chunks.len() > MAX_DOCUMENTS {
        let extra = &chunks[MAX_DOCUMENTS];
        let place = Place {
            document: MAX_DOCUMENTS + 1,
            source: extra.source(),
            ..Place::default()
        };
        return Err(Error::new(
            ErrorKind::Yaml,
            format!("the stream has more than {MAX_DOCUMENTS} documents, the limit"),
        )
        .at(place));
    }
    Ok(())
}

/// The parser's budget for one document (serde-saphyr counts and stops on its own).
pub(crate) fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    // vaultwire splits the stream itself; one document reaches the parser at a time.
    budget.max_documents = usize::MAX;
    budget.max_reader_input_bytes = Some(MAX_INPUT_BYTES);
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_events = 4 * MAX_NODES;
    budget.max_total_scalar_bytes = MAX_SCALAR_BYTES;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    // What an anchor may replay in all: bounds the expansion, not only the alias count.
    budget.max_recorded_anchor_events = MAX_NODES / 10;
    budget
}

/// A budget breach in words a user can act on (the parser's own wording names its options).
pub(crate) fn describe(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Depth { .. } => depth_message(),
        B::Nodes { .. } | B::Events { .. } => {
            format!("more than {MAX_NODES} YAML nodes, the limit for one document")
        }
        B::ScalarBytes { .. } => format!(
            "more than {} of scalar text, the limit for one document",
            size(MAX_SCALAR_BYTES)
        ),
        B::Aliases { .. }
        | B::Anchors { .. }
        | B::AliasAnchorRatio { .. }
        | B::RecordedAnchorEvents { .. }
        | B::RecordedAnchorBytes { .. } => format!(
            "too many YAML aliases (at most {MAX_ALIASES}, and 10 per anchor): \
             alias expansion is bounded against billion-laughs documents"
        ),
        B::InputBytes { .. } => format!(
            "the document is over the limit of {}",
            size(MAX_INPUT_BYTES)
        ),
        other => format!("a parser limit was reached ({other:?})"),
    }
}

/// The parser's own flow-nesting guard ("recursion limit exceeded"), in the same words as
/// the depth budget.
pub(crate) fn depth_message() -> String {
    format!("nested deeper than the limit of {MAX_DEPTH} levels")
}

fn size(bytes: usize) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}
