//! Option C: every configuration secret comes from the one synced Secret. The rewrite is
//! partial mode's ([`super::partial::SyncedSecret`]); what differs is the selection: without
//! listed keys it is every key the targeted pods read from the chart's own Secrets and
//! ConfigMaps ([`crate::selection::Selection::inferred`]).

pub use super::partial::SyncedSecret;
