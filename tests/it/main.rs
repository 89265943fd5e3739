//! One integration-test binary, one module per topic.
mod refs_reader;
mod support;

mod chart_properties;
mod cli_errors;
mod delivery;
mod example;
mod lint;
mod operators;
mod podinfo;
mod preview;
mod properties;
mod reference_props;
mod references;
mod robustness;
mod shared_fixtures;
mod stream_shapes;
