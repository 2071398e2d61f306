//! Benchmark binary (stub).

fn main() {}
