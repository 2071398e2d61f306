//! Step-to-line mapping.
