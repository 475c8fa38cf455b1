//! Scratch space on a size-capped tmpfs: a submission's work dir (source and
//! compiled program), a validator's build, a test's feedback files. Nothing
//! lands on the host disk, and removal is an unmount, which follows no link
//! a sandboxed program may have planted.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const BASE: &str = "/run/judge/work";
/// `BASE/.owner-<id>`: flock-ed by the live judge whose scratch dirs are named `<id>-<n>`.
const OWNER_PREFIX: &str = ".owner-";

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
        // would detach that judge's mount. The owner id is random and locked.
        let name = format!("{}-{}", owner_id()?, NEXT.fetch_add(1, Ordering::Relaxed));
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

/// This process's owner id, its lock file created and locked on first use
/// and held until the process ends (the lock goes with it, however it ends).
fn owner_id() -> io::Result<&'static str> {
    use std::os::unix::fs::OpenOptionsExt;
    static OWNER: Mutex<Option<&'static str>> = Mutex::new(None);
    let mut owner = OWNER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(id) = *owner {
        return Ok(id);
    }
    std::fs::create_dir_all(BASE).map_err(|e| io::Error::new(e.kind(), format!("{BASE}: {e}")))?;
    let mut random = [0u8; 8];
    getrandom(&mut random)?;
    let id = format!("{:016x}", u64::from_ne_bytes(random));
    let path = Path::new(BASE).join(format!("{OWNER_PREFIX}{id}"));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    if !try_lock(&file)? {
        return Err(io::Error::other(format!("{}: locked by another process", path.display())));
    }
    // Held, with its lock, for the rest of the process.
    std::mem::forget(file);
    let id: &'static str = Box::leak(id.into_boxed_str());
    *owner = Some(id);
    Ok(id)
}

/// Takes an exclusive flock without waiting: false if another holds one.
fn try_lock(file: &std::fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Removes scratch dirs a killed judge left in `/run/judge/work`: empty,
/// not a mount point here, and named for an owner whose lock no live
/// process holds (a live judge's dirs, mounted in its own namespace and so
/// looking empty from here, are left alone). Returns how many went.
pub fn remove_stale() -> io::Result<usize> {
    remove_stale_in(Path::new(BASE))
}

fn remove_stale_in(base: &Path) -> io::Result<usize> {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    fn context(path: &Path) -> impl Fn(io::Error) -> io::Error + '_ {
        move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    }
    let base_dev = match std::fs::metadata(base) {
        Ok(meta) => meta.dev(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(context(base)(e)),
    };
    // Owner id -> its lock file, held while we look, if its owner is gone.
    let mut dead: HashMap<String, Option<std::fs::File>> = HashMap::new();
    let mut removed = 0;
    for entry in std::fs::read_dir(base).map_err(context(base))? {
        let entry = entry.map_err(context(base))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((id, _)) = name.split_once('-') else { continue };
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || !entry.file_type()?.is_dir() {
            continue;
        }
        let lock = dead.entry(id.to_string()).or_insert_with(|| {
            match std::fs::OpenOptions::new().write(true).open(base.join(format!("{OWNER_PREFIX}{id}"))) {
                Ok(file) => try_lock(&file).ok().filter(|locked| *locked).map(|_| file),
                // No lock file: its owner was cleaned up already, so it is gone.
                Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::File::open("/dev/null").ok(),
                Err(_) => None,
            }
        });
        if lock.is_none() {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.dev() != base_dev {
            continue; // a mount point here: in use
        }
        if std::fs::remove_dir(&path).is_ok() {
            removed += 1;
        }
    }
    for (id, lock) in dead {
        if lock.is_some() {
            let _ = std::fs::remove_file(base.join(format!("{OWNER_PREFIX}{id}")));
        }
    }
    Ok(removed)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory standing in for `/run/judge/work`.
    fn base() -> PathBuf {
        let mut random = [0u8; 8];
        getrandom(&mut random).unwrap();
        let path = std::env::temp_dir().join(format!("judge-scratch-test-{:016x}", u64::from_ne_bytes(random)));
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    #[test]
    fn stale_dirs_of_dead_owners_go_and_live_ones_stay() {
        let base = base();
        let (dead, live) = ("00000000000000aa", "00000000000000bb");
        std::fs::write(base.join(format!("{OWNER_PREFIX}{dead}")), b"").unwrap();
        let live_lock = std::fs::File::create(base.join(format!("{OWNER_PREFIX}{live}"))).unwrap();
        assert!(try_lock(&live_lock).unwrap());
        for dir in [format!("{dead}-0"), format!("{dead}-1"), format!("{live}-0"), "0000000000000ccc-0".into()] {
            std::fs::create_dir(base.join(dir)).unwrap();
        }
        std::fs::create_dir(base.join(format!("{dead}-2"))).unwrap();
        std::fs::write(base.join(format!("{dead}-2/file")), b"x").unwrap();
        std::fs::create_dir(base.join("not-a-scratch-dir")).unwrap();

        // dead-0, dead-1, and the lock-less ccc-0; not the non-empty dead-2.
        assert_eq!(remove_stale_in(&base).unwrap(), 3);
        let mut left: Vec<String> =
            std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let expected = [
            format!("{OWNER_PREFIX}{live}"),
            format!("{dead}-2"),
            format!("{live}-0"),
            "not-a-scratch-dir".to_string(),
        ];
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(left, expected);
        drop(live_lock);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_mount_point_is_left_alone() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: mounting needs root");
            return;
        }
        let base = base();
        let dir = base.join("00000000000000dd-0");
        std::fs::create_dir(&dir).unwrap();
        let mounted = nix::mount::mount(Some("tmpfs"), &dir, Some("tmpfs"), nix::mount::MsFlags::empty(), None::<&str>);
        if mounted.is_err() {
            eprintln!("skipped: cannot mount a tmpfs here");
            return;
        }
        let left = remove_stale_in(&base);
        let _ = nix::mount::umount2(&dir, nix::mount::MntFlags::MNT_DETACH);
        assert_eq!(left.unwrap(), 0);
        assert!(dir.is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_live_judge_keeps_its_scratch_dirs() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 || Scratch::new(1 << 20).is_err() {
            eprintln!("skipped: needs root and /run/judge/work");
            return;
        }
        let id = owner_id().unwrap();
        let dir = Path::new(BASE).join(format!("{id}-unmounted"));
        std::fs::create_dir(&dir).unwrap();
        remove_stale().unwrap();
        let kept = dir.is_dir();
        let _ = std::fs::remove_dir(&dir);
        assert!(kept, "{} of this live process was removed", dir.display());
    }
}
