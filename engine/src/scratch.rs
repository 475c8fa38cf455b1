//! Scratch space on a size-capped tmpfs: a submission's work dir (source and
//! compiled program), a validator's build, a test's feedback files. Nothing
//! lands on the host disk, and removal is an unmount, which follows no link
//! a sandboxed program may have planted.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const BASE: &str = "/run/judge/work";

#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A fresh tmpfs of at most `bytes`, writable by every sandbox uid (only
    /// the sandbox it is bound into can see it).
    pub fn new(bytes: u64) -> io::Result<Scratch> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // The pid alone is not unique: judges in their own PID namespaces
        // share it, and removing a directory another judge has mounted on
        // would detach that judge's mount.
        let mut random = [0u8; 8];
        getrandom(&mut random)?;
        let name = format!(
            "{}-{}-{:016x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            u64::from_ne_bytes(random)
        );
        let path = Path::new(BASE).join(name);
        std::fs::create_dir_all(BASE).map_err(|e| io::Error::new(e.kind(), format!("{BASE}: {e}")))?;
        std::fs::create_dir(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let data = format!("size={},mode=0777", bytes.max(4096));
        nix::mount::mount(
            Some("tmpfs"),
            &path,
            Some("tmpfs"),
            nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
            Some(data.as_str()),
        )
        .map_err(|e| io::Error::other(format!("mounting tmpfs at {}: {e}", path.display())))?;
        Ok(Scratch { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes stored on this tmpfs.
    pub fn used_bytes(&self) -> u64 {
        nix::sys::statfs::statfs(&self.path)
            .map(|st| st.blocks().saturating_sub(st.blocks_free()) * st.block_size() as u64)
            .unwrap_or(0)
    }

    /// Writes a file the judge itself provides (never one a sandbox made).
    pub fn write(&self, name: &str, data: &[u8]) -> io::Result<PathBuf> {
        let path = self.path.join(name);
        std::fs::write(&path, data).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(path)
    }

    /// Creates a subdirectory writable by the sandbox.
    pub fn subdir(&self, name: &str) -> io::Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path.join(name);
        std::fs::create_dir(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))?;
        Ok(path)
    }

    /// A fresh tmpfs holding a copy of the operator's directory `dir` (regular
    /// files with their modes, directories and links as links), for binding at
    /// a sandbox's work dir: the sandbox's mount table then names this tmpfs,
    /// not the host path or disk of `dir`. Refused past `max_bytes` of files.
    pub fn copy_of(dir: &Path, max_bytes: u64) -> io::Result<Scratch> {
        let bytes = tree_bytes(dir)?;
        if bytes > max_bytes {
            return Err(io::Error::other(format!(
                "{} holds {bytes} bytes of files, more than the {max_bytes} a run may copy",
                dir.display()
            )));
        }
        // Room for the files plus a block and an inode's worth per entry.
        let scratch = Scratch::new(bytes.saturating_mul(2).saturating_add(1 << 20))?;
        copy_tree(dir, &scratch.path)?;
        Ok(scratch)
    }

    /// Reads a regular file a sandbox may have written, beneath this directory (no link
    /// out at any component, no FIFO or device), at most `limit` bytes.
    pub fn read_untrusted(&self, relative: &str, limit: u64) -> Option<Vec<u8>> {
        crate::package_fs::read_beneath(&self.path, std::path::Path::new(relative), limit).ok()
    }
}

/// Bytes of the regular files under `dir`, links not followed.
fn tree_bytes(dir: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir(dir).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total = total.saturating_add(tree_bytes(&entry.path())?);
        } else if kind.is_file() {
            total = total.saturating_add(entry.metadata()?.len());
        }
    }
    Ok(total)
}

/// Copies `from`'s entries into the existing directory `to`; FIFOs, devices and
/// sockets are left out (a program gets no way to the host's).
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fn context(path: &Path) -> impl Fn(io::Error) -> io::Error + '_ {
        move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    }
    for entry in std::fs::read_dir(from).map_err(context(from))? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir(&target).map_err(context(&target))?;
            copy_tree(&source, &target)?;
            std::fs::set_permissions(&target, entry.metadata()?.permissions()).map_err(context(&target))?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target).map_err(context(&source))?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&source).map_err(context(&source))?;
            std::os::unix::fs::symlink(link, &target).map_err(context(&target))?;
        }
    }
    Ok(())
}

fn getrandom(buf: &mut [u8]) -> io::Result<()> {
    // SAFETY: writes at most buf.len() bytes into buf.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    if n == buf.len() as isize {
        Ok(())
    } else {
        Err(io::Error::other("getrandom failed"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.path);
    }
}
