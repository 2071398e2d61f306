//! A blob's bytes written to a `std::io::Write` as they arrive, never more than the manifest claimed:
//! a registry that sends more than a layer's size is cut off at once, one that sends less is caught by
//! `finish` (and the client checks the digest of what came).

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) struct Sink<W: Write> {
    inner: W,
    claimed: u64,
    written: u64,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(inner: W, claimed: u64) -> Sink<W> {
        Sink { inner, claimed, written: 0 }
    }

    /// The writer, once exactly the claimed size arrived.
    pub(crate) fn finish(self) -> Result<W, String> {
        if self.written != self.claimed {
            return Err(format!("the registry sent {} bytes where the manifest claims {}", self.written, self.claimed));
        }
        Ok(self.inner)
    }
}

impl<W: Write + Unpin> tokio::io::AsyncWrite for Sink<W> {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let after = this.written.saturating_add(buf.len() as u64);
        if after > this.claimed {
            let why = format!("the registry sent more than the {} bytes the manifest claims", this.claimed);
            return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why)));
        }
        this.inner.write_all(buf)?;
        this.written = after;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().inner.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// A writer that refuses to grow past `cap` bytes (a gzip bomb stops there) and hashes what it wrote.
pub(crate) struct Capped<W: Write> {
    pub(crate) inner: W,
    cap: u64,
    written: u64,
    hasher: sha2::Sha256,
}

impl<W: Write> Capped<W> {
    pub(crate) fn new(inner: W, cap: u64) -> Capped<W> {
        Capped { inner, cap, written: 0, hasher: sha2::Digest::new() }
    }

    /// The writer and the sha256 (hex) of everything written.
    pub(crate) fn finish(self) -> (W, String) {
        (self.inner, super::artifact::hex(&sha2::Digest::finalize(self.hasher)))
    }
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let after = self.written.saturating_add(buf.len() as u64);
        if after > self.cap {
            let why = format!("more than {} bytes once decompressed", self.cap);
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
        }
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.hasher, buf.get(..n).unwrap_or_default());
        self.written = self.written.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn more_or_less_than_claimed_is_refused() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut sink = Sink::new(Vec::new(), 4);
            assert!(sink.write_all(b"12345").await.is_err());
            let mut sink = Sink::new(Vec::new(), 4);
            sink.write_all(b"123").await.unwrap();
            assert!(sink.finish().unwrap_err().contains("3 bytes"));
            let mut sink = Sink::new(Vec::new(), 4);
            sink.write_all(b"1234").await.unwrap();
            assert_eq!(sink.finish().unwrap(), b"1234");
        });
        let mut capped = Capped::new(Vec::new(), 3);
        assert!(capped.write_all(b"1234").is_err());
    }
}
