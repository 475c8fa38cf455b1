//! Tests of the mount plans: what the skeleton holds, and what a run's plan
//! creates and mounts, without carrying either out.

use super::*;

#[test]
fn skeleton_creates_parents_once_and_links_symlinked_dirs() {
    let plan = MountPlan::skeleton().unwrap();
    let whats: Vec<&str> = plan.ops.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(whats.iter().filter(|w| **w == "create /etc").count(), 1);
    assert!(whats.contains(&"pivot_root into the new root"));
    assert!(whats.contains(&"bind /dev/null"));
    if std::fs::symlink_metadata("/bin").map(|m| m.file_type().is_symlink()).unwrap_or(false) {
        assert!(whats.contains(&"link /bin"));
    }
}

const MIB_FOR_TESTS: u64 = 1 << 20;

fn detached(target: &str, is_dir: bool) -> DetachedBind {
    let fd = std::fs::File::open("/dev/null").unwrap().into();
    DetachedBind { source: "/src".into(), target: target.into(), is_dir, fd }
}

fn whats(plan: &MountPlan) -> Vec<&str> {
    plan.ops.iter().map(|(_, w)| w.as_str()).collect()
}

#[test]
fn skeleton_ends_read_only_with_the_work_dir_and_an_empty_tmp() {
    let plan = MountPlan::skeleton().unwrap();
    let whats = whats(&plan);
    assert_eq!(whats.last(), Some(&"make the root read-only"));
    assert!(whats.contains(&"create /box") && whats.contains(&"mount the empty /tmp"));
}

#[test]
fn only_mount_points_the_skeleton_lacks_are_created() {
    let skeleton = MountPlan::skeleton().unwrap();
    let plan = MountPlan::per_run(&[detached(WORKDIR, true)], 9, MIB_FOR_TESTS, &skeleton);
    let steps = whats(&plan);
    assert!(!steps.iter().any(|w| w.starts_with("create") || w.starts_with("make the root")), "{steps:?}");
    let binds = [detached(WORKDIR, true), detached("/data/in", false), detached("/usr/lib/x", true)];
    let plan = MountPlan::per_run(&binds, 9, MIB_FOR_TESTS, &skeleton);
    let steps = whats(&plan);
    // Below a host bind nothing is created: it is there, or the bind fails.
    assert!(steps.contains(&"create /data") && steps.contains(&"create /data/in"), "{steps:?}");
    assert!(!steps.iter().any(|w| w.starts_with("create /usr")), "{steps:?}");
    let ro = steps.iter().position(|w| *w == "make the root read-only").expect("made read-only again");
    assert!(steps[ro - 1].starts_with("bind /src at /usr/lib/x"), "{steps:?}");
    // Masked directories are binds of the skeleton's empty /tmp, not file systems of their own.
    for dir in &proc_masks().1 {
        let what = format!("mask /proc/{dir}");
        let (op, _) = plan.ops.iter().find(|(_, w)| *w == what).expect("a mask step");
        assert!(matches!(op, Op::Mount { source, fstype, .. } if source.as_bytes() == b"/tmp" && fstype.is_empty()));
    }
}

#[test]
fn relative_dotdot_or_root_targets_are_refused() {
    for target in ["/box/../etc", "usr2", "/"] {
        let bind = Bind { source: "/usr".into(), target: target.into(), writable: false };
        assert!(DetachedBind::new(&bind).is_err(), "{target}");
    }
}

#[test]
fn missing_source_is_an_error() {
    let bind = Bind { source: "/definitely/not/here".into(), target: "/x".into(), writable: false };
    let err = DetachedBind::new(&bind).err().unwrap();
    assert!(err.contains("/definitely/not/here"), "{err}");
}
