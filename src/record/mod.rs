//! Recording builds (stub).
