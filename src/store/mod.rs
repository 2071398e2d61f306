//! The build store (stub).
