//! The protocol plumbing: framing and checking every incoming message, stdio, position encodings,
//! the capabilities, and `catch_unwind` around handlers.

pub(super) mod capabilities;
pub mod encoding;
pub(super) mod framing;
pub(super) mod guard;
pub(super) mod stdio;
pub(super) mod too_large;
pub(super) mod transport;
