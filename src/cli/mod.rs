//! Parts of the command that talk to the outside world (the library does no I/O).

#[cfg(not(target_arch = "wasm32"))]
pub mod check;
#[cfg(not(target_arch = "wasm32"))]
pub mod preview;
