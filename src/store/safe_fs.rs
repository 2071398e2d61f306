//! Store files opened and written safely: whatever a store holds (a store can ship inside a cloned
//! repository, or be written by a script, a sync tool or another user), reading one never blocks, never
//! reads more than a documented cap, and writing never leaves the store through a symlink.
//!
//! - Reads open with `O_NONBLOCK` (opening a FIFO or a device then returns at once), then the *open
//!   handle's* metadata must say "regular file" (no race between a check and the open) and its size must
//!   be under the file's cap; the read itself is bounded by the cap too (a file that grows meanwhile).
//! - Writes resolve the target folder and refuse one outside the store root (a record folder symlinked
//!   elsewhere); files are created with `O_CREAT|O_EXCL|O_NOFOLLOW` (a planted symlink under a temporary
//!   name is never followed), then renamed over the target (a rename replaces a symlink, it does not
//!   write through it).
//!
//! Every read of a store file and of a Dockerfile a record or a log names goes through here (README,
//! "Limits").

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `meta.json`: a command line, paths, tags, build args, compose services.
pub const META_CAP: u64 = 1 << 20;
/// `summary.json`: the parsed summary cache (over it, the log is parsed again and nothing is cached).
pub const SUMMARY_CAP: u64 = 64 << 20;
/// `image.json`: an image's history (layers, sizes, `CreatedBy` texts).
pub const IMAGE_CAP: u64 = 16 << 20;
/// `inputs.json`: the Dockerfile and `.dockerignore` (1 MiB each at most) and a manifest of up to 20,000
/// files.
pub const INPUTS_CAP: u64 = 64 << 20;
/// A Dockerfile a record or a log names, a compose file, a workspace Dockerfile read for a text match.
pub const DOCKERFILE_CAP: u64 = 4 << 20;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a regular file (a FIFO, a device or a folder): not read")]
    NotRegular { path: PathBuf },
    #[error("{path} is larger than {cap} bytes: not read")]
    TooLarge { path: PathBuf, cap: u64 },
}

impl ReadError {
    /// The file does not exist (an optional file that is simply absent, not a problem to report).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Opens `path` for reading only if it is a regular file (symlinks to one are followed). Never blocks:
/// a FIFO or a device is opened non-blocking and refused by the handle's own metadata.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let io_err = |source| ReadError::Io { path: path.to_path_buf(), source };
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular { path: path.to_path_buf() });
    }
    // A regular file ignores O_NONBLOCK; it is cleared anyway so the handle behaves as any other.
    clear_nonblocking(&file);
    Ok(file)
}

fn clear_nonblocking(file: &File) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL only read and set the status flags of a descriptor this function borrows.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// The whole file at `path`, if it is a regular file of at most `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let io_err = |source| ReadError::Io { path: path.to_path_buf(), source };
    let len = file.metadata().map_err(io_err)?.len();
    if len > cap {
        return Err(ReadError::TooLarge { path: path.to_path_buf(), cap });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // One byte more than the cap tells a file that grew past it since the size was read.
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(io_err)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { path: path.to_path_buf(), cap });
    }
    Ok(bytes)
}

/// `read_capped` as text (invalid UTF-8 replaced).
pub fn read_text(path: &Path, cap: u64) -> Result<String, ReadError> {
    read_capped(path, cap).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// `read_capped` parsed as JSON; `None` when the file is absent, refused or not that JSON (logged on
/// stderr when refused, so an unreadable optional file is never silent and never an error).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, cap: u64) -> Option<T> {
    match read_capped(path, cap) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            crate::present::eprint_line(format_args!("buildlens: {e}"));
            None
        }
    }
}

/// `dir` resolved, if it lies inside the store at `root` (resolved too); an error saying so otherwise.
pub fn confined(root: &Path, dir: &Path) -> io::Result<PathBuf> {
    let real_root = fs::canonicalize(root)?;
    let real = fs::canonicalize(dir)?;
    if real.starts_with(&real_root) {
        Ok(real)
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} leaves the store {} through a symlink (it is {}): nothing is written there",
                dir.display(),
                root.display(),
                real.display()
            ),
        ))
    }
}

/// Creates `path` (which must not exist, not even as a symlink) for writing.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(0o666).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

/// Writes `path` whole or not at all, inside the store at `root`: a new temporary file in the (resolved)
/// folder, then a rename. The folder must resolve inside the store; a name taken by anything (a planted
/// symlink) is skipped for the next one.
pub fn write_atomic(root: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", path.display())));
    };
    let dir = confined(root, dir)?;
    let (mut file, tmp) = temp_in(&dir, name)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all().or(Ok(())));
    drop(file);
    match written.and_then(|()| fs::rename(&tmp, dir.join(name))) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A new file `.<name>.tmp-<pid>[-n]` in `dir`.
fn temp_in(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(File, PathBuf)> {
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..16u32 {
        let mut tmp = OsString::from(".");
        tmp.push(name);
        tmp.push(if attempt == 0 { format!(".tmp-{pid}") } else { format!(".tmp-{pid}-{attempt}") });
        let tmp = dir.join(tmp);
        match create_new(&tmp) {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn fifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    #[test]
    fn only_regular_files_under_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, pipe, big, zero) = (dir.path().join("ok"), dir.path().join("pipe"), dir.path().join("big"), dir.path().join("zero"));
        fs::write(&ok, "{}").unwrap();
        fifo(&pipe);
        File::create(&big).unwrap().set_len(3 << 30).unwrap();
        symlink("/dev/zero", &zero).unwrap();
        assert_eq!(read_capped(&ok, 2).unwrap(), b"{}");
        assert!(matches!(read_capped(&ok, 1), Err(ReadError::TooLarge { .. })));
        // On a thread with a deadline: a regression that opens the FIFO blocking would hang, not fail.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send([read_capped(&pipe, 10), read_capped(&zero, 10), read_capped(&big, DOCKERFILE_CAP)]);
        });
        let [pipe, zero, big] = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("refused at once, not blocked");
        assert!(matches!(pipe, Err(ReadError::NotRegular { .. })));
        assert!(matches!(zero, Err(ReadError::NotRegular { .. })));
        assert!(matches!(big, Err(ReadError::TooLarge { .. })));
        assert!(matches!(read_capped(dir.path(), 10), Err(ReadError::NotRegular { .. })));
        assert!(read_capped(&dir.path().join("absent"), 10).unwrap_err().is_not_found());
    }

    #[test]
    fn writes_stay_in_the_store_and_skip_planted_names() {
        let dir = tempfile::tempdir().unwrap();
        let (store, outside) = (dir.path().join("store"), dir.path().join("outside"));
        fs::create_dir_all(store.join("rec")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let victim = outside.join("victim");
        fs::write(&victim, "keep").unwrap();
        // A planted temporary name pointing outside, and the target itself a symlink outside.
        symlink(&victim, store.join(format!("rec/.summary.json.tmp-{}", std::process::id()))).unwrap();
        symlink(&victim, store.join("rec/summary.json")).unwrap();
        write_atomic(&store, &store.join("rec/summary.json"), b"new").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(fs::read_to_string(store.join("rec/summary.json")).unwrap(), "new");
        assert!(fs::symlink_metadata(store.join("rec/summary.json")).unwrap().is_file(), "the symlink was replaced");
        // A record folder that is a symlink out of the store.
        symlink(&outside, store.join("away")).unwrap();
        let e = write_atomic(&store, &store.join("away/summary.json"), b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(!outside.join("summary.json").exists());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1, "nothing was created outside");
    }
}
