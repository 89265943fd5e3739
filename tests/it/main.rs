//! One integration-test binary, one module per topic.
mod support;

mod cli_errors;
mod example;
mod podinfo;
mod properties;
mod shared_fixtures;
mod stream_shapes;
