//! Nothing here: the test lives in `tests/wasip1.rs`.
