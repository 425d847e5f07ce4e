//! The rnnstudy orchestrator.
fn main() {}
