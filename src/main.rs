//! The `buildlens` binary: the CLI entry point.

fn main() {
    std::process::exit(buildlens::cli::main());
}
