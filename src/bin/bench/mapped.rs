//! A log file mapped read-only (`mmap`, `MADV_SEQUENTIAL`), read in pieces that are released
//! (`MADV_DONTNEED`) once used, so the resident set does not grow with the file.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{bail, Context, Result};

pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapped {
    pub fn open(path: &Path) -> Result<Mapped> {
        let file = File::open(path).context("opening the log")?;
        let len = usize::try_from(file.metadata()?.len()).context("the log does not fit in memory")?;
        if len == 0 {
            return Ok(Mapped { ptr: std::ptr::null_mut(), len: 0 });
        }
        // SAFETY: a fresh read-only private mapping of a file we opened; checked for MAP_FAILED below.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            bail!("mmap failed: {}", std::io::Error::last_os_error());
        }
        // SAFETY: advice on the mapping made above; failure only loses the hint.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Ok(Mapped { ptr, len })
    }

    /// Calls `use_piece` on consecutive pieces of `piece_len` bytes (a multiple of the page size), each
    /// released from memory after the call.
    pub fn each_piece(&self, piece_len: usize, mut use_piece: impl FnMut(&[u8])) {
        let mut at = 0;
        while at < self.len {
            let len = piece_len.min(self.len - at);
            // SAFETY: `at + len <= self.len`, inside the live mapping; nothing writes to it.
            let piece = unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>().add(at), len) };
            use_piece(piece);
            // SAFETY: the piece is no longer borrowed; `at` is page-aligned (a multiple of `piece_len`).
            unsafe { libc::madvise(self.ptr.cast::<u8>().add(at).cast(), len, libc::MADV_DONTNEED) };
            at += len;
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmaps exactly the mapping made in `open`, once.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}
