//! Reading the files a configuration names (the configuration itself, `configSource` files,
//! certificates, keys, CA lists, the admin token) without hanging or ballooning.
//!
//! Each file is opened with `O_NONBLOCK` (a FIFO opens at once instead of waiting for a
//! writer; it has no effect on regular files), checked with `fstat` on the open descriptor
//! (so what is checked is what is read), refused unless it is a regular file, and read up to
//! a cap: `/dev/zero`, a FIFO, a directory or a 10 GiB file all become a clear error at once.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest configuration or `configSource` file read (bytes).
pub const CONFIG_FILE_MAX: u64 = 16 * 1024 * 1024;
/// Largest PEM file read: certificate chains, private keys, CA lists (bytes).
pub const PEM_FILE_MAX: u64 = 1024 * 1024;
/// Largest admin token file read (bytes); a token is 64 hex digits.
pub const TOKEN_FILE_MAX: u64 = 4096;

/// Opens `path` for reading and checks that it is a regular file (see the module docs).
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let metadata = file.metadata()?;
    let kind = metadata.file_type();
    let what = if kind.is_file() {
        return Ok((file, metadata));
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({what})"),
    ))
}

/// Reads the regular file `path`, refusing it when it holds more than `limit` bytes.
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let (file, metadata) = open_regular(path)?;
    read_open(file, &metadata, limit)
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read(path, limit)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Reads an already opened regular file up to `limit` bytes.
pub fn read_open(file: File, metadata: &Metadata, limit: u64) -> io::Result<Vec<u8>> {
    let too_large = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than the {} limit", shown_size(limit)),
        )
    };
    if metadata.len() > limit {
        return Err(too_large());
    }
    // The size can change between fstat and read: read one byte past the limit to see it.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

fn shown_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes}-byte")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Runs `f` on a thread and fails instead of hanging when it blocks.
    fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the read blocked")
    }

    #[test]
    fn regular_files_are_read_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.config");
        std::fs::write(&path, "0123456789").unwrap();
        assert_eq!(read(&path, 10).unwrap(), b"0123456789");
        let e = read(&path, 9).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(e.to_string(), "larger than the 9-byte limit");
        // A sparse file far over the cap is refused from its size, without reading it.
        let big = dir.path().join("big.config");
        File::create(&big)
            .unwrap()
            .set_len(CONFIG_FILE_MAX + 1)
            .unwrap();
        let e = read(&big, CONFIG_FILE_MAX).unwrap_err();
        assert_eq!(e.to_string(), "larger than the 16 MiB limit");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_to_string(&path, 10).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = within_seconds(move || read(&fifo, PEM_FILE_MAX).unwrap_err());
        assert_eq!(e.to_string(), "not a regular file (a FIFO)");
        let e = within_seconds(|| read(Path::new("/dev/zero"), PEM_FILE_MAX).unwrap_err());
        assert_eq!(e.to_string(), "not a regular file (a character device)");
        let e = read(dir.path(), PEM_FILE_MAX).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a directory)");
        let e = read(&dir.path().join("missing"), PEM_FILE_MAX).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
