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

    /// Reads a regular file a sandbox may have written, beneath this directory (no link
    /// out at any component, no FIFO or device), at most `limit` bytes.
    pub fn read_untrusted(&self, relative: &str, limit: u64) -> Option<Vec<u8>> {
        crate::package_fs::read_beneath(&self.path, std::path::Path::new(relative), limit).ok()
    }
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
