//! Placeholder being written; replaced before commit.
fn main() {}
