//! The server's stdin and stdout as async streams without the blocking pool. tokio's `stdin()` and
//! `stdout()` do every read and write on a blocking-pool thread, two thread hand-offs per message; when
//! the editor gives the server a pipe (most clients) or a socket (libuv's clients: VS Code, Neovim), the
//! descriptor is put in non-blocking mode and driven by the reactor instead. Anything else (a terminal,
//! a file) keeps tokio's blocking streams.
//!
//! Only protocol messages ever go to stdout (logs go to stderr), so nothing else in the process writes to
//! the descriptor whose mode this changes.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use tokio::io::{AsyncRead, AsyncWrite};

pub type Input = Box<dyn AsyncRead + Unpin + Send>;
pub type Output = Box<dyn AsyncWrite + Unpin + Send>;

/// The file status flags of stdin and stdout as the server found them, put back when dropped: the
/// descriptions may be shared with the process that started the server (a wrapper script that goes on
/// reading its stdin), and non-blocking mode must not outlive the server.
pub struct SavedModes([Option<libc::c_int>; 2]);

impl SavedModes {
    pub fn save() -> SavedModes {
        // SAFETY: F_GETFL only reads the flags of descriptors 0 and 1 (-1 if closed).
        let get = |fd| Some(unsafe { libc::fcntl(fd, libc::F_GETFL) }).filter(|&f| f >= 0);
        SavedModes([get(0), get(1)])
    }
}

impl Drop for SavedModes {
    fn drop(&mut self) {
        for (fd, flags) in self.0.iter().enumerate() {
            if let Some(flags) = flags {
                // SAFETY: F_SETFL only sets status flags the descriptor had when the server started.
                unsafe { libc::fcntl(fd as libc::c_int, libc::F_SETFL, *flags) };
            }
        }
    }
}

/// What a standard descriptor is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Pipe,
    Socket,
    Other,
}

/// stdin and stdout for the server. Must run inside the runtime (the reactor registers the descriptors).
pub fn streams() -> (Input, Output) {
    (input(), output())
}

fn input() -> Input {
    on_reactor(std::io::stdin().as_fd(), "stdin", reader).unwrap_or_else(|| Box::new(tokio::io::stdin()))
}

fn output() -> Output {
    on_reactor(std::io::stdout().as_fd(), "stdout", writer).unwrap_or_else(|| Box::new(tokio::io::stdout()))
}

/// `fd` (a copy of it) as a reactor-driven stream made by `make`, when it is a pipe or a Unix socket;
/// `None` (the blocking pool) otherwise or when that fails (said on stderr).
fn on_reactor<T>(fd: BorrowedFd<'_>, name: &str, make: fn(Kind, OwnedFd) -> std::io::Result<T>) -> Option<T> {
    let kind = match kind(fd) {
        Kind::Other => return None,
        kind => kind,
    };
    let made = fd.try_clone_to_owned().and_then(|owned| make(kind, owned));
    made.map_err(|e| eprintln!("buildlens: {name} stays on the blocking pool ({e})")).ok()
}

fn reader(kind: Kind, fd: OwnedFd) -> std::io::Result<Input> {
    Ok(match kind {
        Kind::Pipe => Box::new(tokio::net::unix::pipe::Receiver::from_owned_fd(fd)?),
        _ => Box::new(socket(fd)?),
    })
}

fn writer(kind: Kind, fd: OwnedFd) -> std::io::Result<Output> {
    Ok(match kind {
        Kind::Pipe => Box::new(tokio::net::unix::pipe::Sender::from_owned_fd(fd)?),
        _ => Box::new(socket(fd)?),
    })
}

fn socket(fd: OwnedFd) -> std::io::Result<tokio::net::UnixStream> {
    let stream = std::os::unix::net::UnixStream::from(fd);
    stream.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(stream)
}

fn kind(fd: BorrowedFd<'_>) -> Kind {
    use std::os::unix::fs::FileTypeExt;
    let Ok(file) = fd.try_clone_to_owned().map(std::fs::File::from) else { return Kind::Other };
    match file.metadata().map(|m| m.file_type()) {
        Ok(t) if t.is_fifo() => Kind::Pipe,
        Ok(t) if t.is_socket() && is_unix_stream(fd) => Kind::Socket,
        _ => Kind::Other,
    }
}

/// A Unix-domain stream socket (what a socketpair is); a TCP socket on stdin keeps the blocking way.
fn is_unix_stream(fd: BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let mut ty: libc::c_int = 0;
    let mut ty_len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: both calls only write into the buffers passed with their sizes; `fd` is open for the
    // duration of the borrow.
    let (named, typed) = unsafe {
        (
            libc::getsockname(fd.as_raw_fd(), (&mut addr as *mut libc::sockaddr_storage).cast(), &mut len),
            libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_TYPE, (&mut ty as *mut libc::c_int).cast(), &mut ty_len),
        )
    };
    named == 0 && typed == 0 && i32::from(addr.ss_family) == libc::AF_UNIX && ty == libc::SOCK_STREAM
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_descriptors() {
        let (r, w) = std::io::pipe().unwrap();
        assert_eq!(kind(r.as_fd()), Kind::Pipe);
        assert_eq!(kind(w.as_fd()), Kind::Pipe);
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(kind(a.as_fd()), Kind::Socket);
        let (d, _e) = std::os::unix::net::UnixDatagram::pair().unwrap();
        assert_eq!(kind(d.as_fd()), Kind::Other);
        let file = std::fs::File::open("Cargo.toml").unwrap();
        assert_eq!(kind(file.as_fd()), Kind::Other);
    }
}
