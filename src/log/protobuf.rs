//! A minimal protobuf wire decoder for the Engine API's `moby.buildkit.trace` messages
//! (`moby.buildkit.v1.StatusResponse`), decoded into the shared `solve_status` updates.
//!
//! Field numbers from moby/buildkit `api/services/control/control.proto` (log-formats.md §1):
//! StatusResponse 1 vertexes, 2 statuses, 3 logs, 4 warnings; Vertex 1 digest, 2 inputs, 3 name, 4 cached,
//! 5 started, 6 completed, 7 error; VertexStatus 1 ID, 2 vertex, …; VertexLog 1 vertex, 2 timestamp,
//! 3 stream, 4 msg; VertexWarning 1 vertex, 2 level, 3 short, 4 detail, 5 url, …;
//! google.protobuf.Timestamp 1 seconds, 2 nanos. Unknown fields are skipped, as protobuf requires.

use std::borrow::Cow;

use super::solve_status::{LogChunk, Nanos, SolveStatus, VertexUpdate, WarningUpdate};

/// Why a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("protobuf message ends inside a field")]
    Truncated,
    #[error("protobuf wire type {0} is not supported")]
    WireType(u8),
}

/// One field's value as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over the `(field number, value)` pairs of one message; stops after the first error.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

pub fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf, pos: 0, failed: false }
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Truncated)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn field(&mut self) -> Result<(u32, Wire<'a>), DecodeError> {
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).unwrap_or(u32::MAX);
        let value = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| DecodeError::Truncated)?)),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| DecodeError::Truncated)?;
                Wire::Bytes(self.take(len)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| DecodeError::Truncated)?)),
            other => return Err(DecodeError::WireType(other as u8)),
        };
        Ok((number, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let field = self.field();
        self.failed = field.is_err();
        Some(field)
    }
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Decodes a `moby.buildkit.v1.StatusResponse`.
pub fn status_response(buf: &[u8]) -> Result<SolveStatus<'_>, DecodeError> {
    let mut ss = SolveStatus::default();
    for field in fields(buf) {
        match field? {
            (1, Wire::Bytes(b)) => ss.vertexes.push(vertex(b)?),
            (2, Wire::Bytes(b)) => ss.status_ids.push(status_id(b)?),
            (3, Wire::Bytes(b)) => ss.logs.push(log(b)?),
            (4, Wire::Bytes(b)) => ss.warnings.push(warning(b)?),
            _ => {}
        }
    }
    Ok(ss)
}

fn vertex(buf: &[u8]) -> Result<VertexUpdate<'_>, DecodeError> {
    let mut v = VertexUpdate::default();
    for field in fields(buf) {
        match field? {
            (1, Wire::Bytes(b)) => v.digest = text(b),
            (3, Wire::Bytes(b)) => v.name = text(b),
            (4, Wire::Varint(n)) => v.cached = n != 0,
            (5, Wire::Bytes(b)) => v.started = timestamp(b)?,
            (6, Wire::Bytes(b)) => v.completed = timestamp(b)?,
            (7, Wire::Bytes(b)) => v.error = text(b),
            _ => {}
        }
    }
    Ok(v)
}

/// Only a status's `ID` is used (`naming to …`, `writing image …`).
fn status_id(buf: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
    let mut id = Cow::Borrowed("");
    for field in fields(buf) {
        if let (1, Wire::Bytes(b)) = field? {
            id = text(b);
        }
    }
    Ok(id)
}

fn log(buf: &[u8]) -> Result<LogChunk<'_>, DecodeError> {
    let mut l = LogChunk::default();
    for field in fields(buf) {
        match field? {
            (1, Wire::Bytes(b)) => l.vertex = text(b),
            (4, Wire::Bytes(b)) => l.data = Cow::Borrowed(b),
            _ => {}
        }
    }
    Ok(l)
}

fn warning(buf: &[u8]) -> Result<WarningUpdate<'_>, DecodeError> {
    let mut w = WarningUpdate::default();
    for field in fields(buf) {
        match field? {
            (1, Wire::Bytes(b)) => w.vertex = text(b),
            (3, Wire::Bytes(b)) => w.short = Cow::Borrowed(b),
            _ => {}
        }
    }
    Ok(w)
}

/// A `google.protobuf.Timestamp` as nanoseconds; `None` when it does not fit.
fn timestamp(buf: &[u8]) -> Result<Option<Nanos>, DecodeError> {
    let (mut seconds, mut nanos) = (0i64, 0i64);
    for field in fields(buf) {
        match field? {
            // int64 and int32 are two's complement varints on the wire: the casts reinterpret the bits.
            (1, Wire::Varint(n)) => seconds = n as i64,
            (2, Wire::Varint(n)) => nanos = i64::from(n as i32),
            _ => {}
        }
    }
    Ok(seconds.checked_mul(1_000_000_000).and_then(|s| s.checked_add(nanos)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny encoder, only for building test messages.
    fn varint(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn bytes(field: u32, b: &[u8], out: &mut Vec<u8>) {
        varint(u64::from(field) << 3 | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }
    fn number(field: u32, n: u64, out: &mut Vec<u8>) {
        varint(u64::from(field) << 3, out);
        varint(n, out);
    }
    fn ts(seconds: u64, nanos: u64) -> Vec<u8> {
        let mut t = Vec::new();
        number(1, seconds, &mut t);
        number(2, nanos, &mut t);
        t
    }

    #[test]
    fn decodes_a_status_response() {
        let mut v = Vec::new();
        bytes(1, b"sha256:aa", &mut v);
        bytes(2, b"sha256:bb", &mut v);
        bytes(3, b"[2/3] RUN x", &mut v);
        number(4, 1, &mut v);
        bytes(5, &ts(10, 5), &mut v);
        bytes(6, &ts(12, 0), &mut v);
        bytes(7, b"boom", &mut v);
        number(8, 7, &mut v); // an unknown varint field is skipped
        let mut l = Vec::new();
        bytes(1, b"sha256:aa", &mut l);
        bytes(2, &ts(11, 0), &mut l);
        number(3, 2, &mut l);
        bytes(4, b"out\n", &mut l);
        let mut w = Vec::new();
        bytes(1, b"sha256:aa", &mut w);
        number(2, 1, &mut w);
        bytes(3, b"careful", &mut w);
        let mut s = Vec::new();
        bytes(1, b"naming to x:1", &mut s);
        let mut msg = Vec::new();
        bytes(1, &v, &mut msg);
        bytes(2, &s, &mut msg);
        bytes(3, &l, &mut msg);
        bytes(4, &w, &mut msg);
        let ss = status_response(&msg).unwrap();
        let v = &ss.vertexes[0];
        assert_eq!((v.digest.as_ref(), v.name.as_ref(), v.cached, v.error.as_ref()), ("sha256:aa", "[2/3] RUN x", true, "boom"));
        assert_eq!((v.started, v.completed), (Some(10_000_000_005), Some(12_000_000_000)));
        assert_eq!((ss.logs[0].vertex.as_ref(), ss.logs[0].data.as_ref()), ("sha256:aa", &b"out\n"[..]));
        assert_eq!(ss.warnings[0].short.as_ref(), b"careful");
        assert_eq!(ss.status_ids, vec![Cow::Borrowed("naming to x:1")]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(status_response(&[0x0a, 0x05, 1]).unwrap_err(), DecodeError::Truncated);
        assert_eq!(status_response(&[0x0b]).unwrap_err(), DecodeError::WireType(3));
        assert_eq!(status_response(&[0xff; 12]).unwrap_err(), DecodeError::Truncated);
        assert_eq!(
            status_response(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).unwrap_err(),
            DecodeError::Truncated
        );
        assert!(status_response(&[]).unwrap().vertexes.is_empty());
        let mut huge = Vec::new();
        bytes(5, &ts(1 << 62, 0), &mut huge);
        assert_eq!(vertex(&huge).unwrap().started, None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = status_response(&bytes);
        }
    }
}
