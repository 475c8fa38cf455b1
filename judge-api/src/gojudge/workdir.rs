//! Files into and out of a command's work dir. Names are checked in
//! `convert.rs`; here, reading what a sandboxed program left behind follows
//! no symlink, leaves the work dir never, and takes regular files only (a
//! FIFO, a directory or a link is a file error, not a hang or a host read).

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::model::FileErrorKind;

/// Writes a `copyIn` file into a fresh work dir (nothing of a program's is
/// there yet). Files are 0777 like go-judge's, so a copied-in binary runs.
pub fn write_in(root: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let path = make_parents(root, name)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o777)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)?;
    std::io::Write::write_all(&mut file, data)?;
    // The mode given at creation is masked by the umask.
    file.set_permissions(std::fs::Permissions::from_mode(0o777))
}

/// Makes a `copyIn` symlink; the target is the program's business (it is
/// resolved inside the sandbox; the judge never follows it).
pub fn symlink_in(root: &Path, name: &str, target: &str) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, make_parents(root, name)?)
}

/// Creates the directories leading to `name` (0777, for the sandbox's uid),
/// passing through real directories only, never a symlink made earlier.
fn make_parents(root: &Path, name: &str) -> std::io::Result<std::path::PathBuf> {
    let mut path = root.to_path_buf();
    let mut parts = name.split('/').peekable();
    while let Some(part) = parts.next() {
        path.push(part);
        if parts.peek().is_none() {
            break;
        }
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => return Err(std::io::Error::other(format!("{}: not a directory", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&path)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(path)
}

/// Reads `name` below `root` as the program left it, at most `max` bytes.
pub fn read_out(root: &Path, name: &str, max: u64) -> Result<Vec<u8>, (FileErrorKind, String)> {
    let dir = File::open(root).map_err(|e| (FileErrorKind::CopyOutOpen, format!("work dir: {e}")))?;
    let file = open_beneath(&dir, name).map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::EXDEV) => {
            (FileErrorKind::CopyOutNotRegularFile, format!("{name} is a symlink or leads through one; not followed"))
        }
        _ => (FileErrorKind::CopyOutOpen, format!("{name}: {e}")),
    })?;
    let meta = file.metadata().map_err(|e| (FileErrorKind::CopyOutOpen, format!("{name}: {e}")))?;
    if !meta.file_type().is_file() {
        return Err((FileErrorKind::CopyOutNotRegularFile, format!("{name} is not a regular file")));
    }
    if meta.len() > max {
        return Err((FileErrorKind::CopyOutSizeExceeded, format!("{name} is {} bytes, over {max}", meta.len())));
    }
    let mut data = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| (FileErrorKind::CopyOutOpen, format!("reading {name}: {e}")))?;
    if data.len() as u64 > max {
        return Err((FileErrorKind::CopyOutSizeExceeded, format!("{name} grew over {max} bytes")));
    }
    Ok(data)
}

/// openat2 below `dir`: no symlinks (not even inside the dir), no `..`
/// escapes, no other mounts; non-blocking so a FIFO cannot stall the judge.
fn open_beneath(dir: &File, name: &str) -> std::io::Result<File> {
    let path = std::ffi::CString::new(Path::new(name).as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: open_how is plain data; all zeroes is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY) as u64;
    how.resolve =
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_XDEV;
    // SAFETY: a valid dir fd, NUL-terminated path and open_how of the given size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openat2 returned a new fd that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(label: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("gojudge-workdir-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_regular_files_only_and_follows_no_link() {
        let root = temp_dir("read");
        write_in(&root, "sub/a.txt", b"hello").unwrap();
        assert_eq!(read_out(&root, "sub/a.txt", 100).unwrap(), b"hello");
        assert_eq!(read_out(&root, "sub/a.txt", 3).unwrap_err().0, FileErrorKind::CopyOutSizeExceeded);
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        assert_eq!(read_out(&root, "link", 1 << 20).unwrap_err().0, FileErrorKind::CopyOutNotRegularFile);
        std::os::unix::fs::symlink("/etc", root.join("dirlink")).unwrap();
        assert_eq!(read_out(&root, "dirlink/passwd", 1 << 20).unwrap_err().0, FileErrorKind::CopyOutNotRegularFile);
        let fifo = std::ffi::CString::new(root.join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o666) }, 0);
        assert_eq!(read_out(&root, "fifo", 100).unwrap_err().0, FileErrorKind::CopyOutNotRegularFile);
        assert_eq!(read_out(&root, "sub", 100).unwrap_err().0, FileErrorKind::CopyOutNotRegularFile);
        assert_eq!(read_out(&root, "missing", 100).unwrap_err().0, FileErrorKind::CopyOutOpen);
        let mode = std::fs::metadata(root.join("sub/a.txt")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o777);
        // Nothing is written through a symlink, whatever the order of the names.
        symlink_in(&root, "up", &root.parent().unwrap().display().to_string()).unwrap();
        assert!(write_in(&root, "up/escaped", b"x").is_err());
        assert!(symlink_in(&root, "up/escaped", "/").is_err());
        assert!(write_in(&root, "link", b"x").is_err(), "an existing symlink is not opened");
        assert!(!root.parent().unwrap().join("escaped").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
