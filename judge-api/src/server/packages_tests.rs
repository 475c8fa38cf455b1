use super::*;

const LIMITS: Limits = Limits { max_bytes: 1 << 20, max_files: 50 };

/// A tar entry whose name is written raw, so hostile names get through.
fn raw_entry(builder: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

fn tar_gz(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        raw_entry(&mut builder, name, *kind, link, data);
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn dest() -> crate::server::tempdir::TempDir {
    let dir = crate::server::tempdir::TempDir::new();
    std::fs::create_dir_all(&dir.0).unwrap();
    dir
}

fn refused(archive: &[u8], needle: &str) {
    let dir = dest();
    let error = extract(archive, &dir.0, LIMITS).unwrap_err();
    assert!(error.is_callers());
    assert!(error.to_string().contains(needle), "{error} does not mention {needle:?}");
}

use tar::EntryType::{Directory, Fifo, Regular, Symlink};

#[test]
fn hostile_tar_entries_are_refused() {
    refused(&tar_gz(&[("../evil", Regular, "", b"x")]), "'..'");
    refused(&tar_gz(&[("a/../../evil", Regular, "", b"x")]), "'..'");
    refused(&tar_gz(&[("/etc/evil", Regular, "", b"x")]), "absolute");
    refused(&tar_gz(&[("link", Symlink, "/etc/passwd", b"")]), "outside");
    refused(&tar_gz(&[("a/link", Symlink, "../../etc/passwd", b"")]), "outside");
    refused(&tar_gz(&[("fifo", Fifo, "", b"")]), "FIFOs");
    refused(&tar_gz(&[("dev", tar::EntryType::Char, "", b"")]), "devices");
    refused(b"just some bytes", "neither a zip nor a tar.gz");
}

#[test]
fn size_and_count_limits_hold_whatever_the_archive_claims() {
    let big = vec![b'0'; (LIMITS.max_bytes + 1) as usize];
    refused(&tar_gz(&[("big", Regular, "", &big)]), "over 1048576 bytes");
    refused(&zip_of(&[("big", &big)]), "over 1048576 bytes");
    let names: Vec<String> = (0..=LIMITS.max_files).map(|i| format!("f{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"x".as_slice())).collect();
    refused(&zip_of(&entries), "over 50 files");
}

#[test]
fn zip_paths_are_checked_too() {
    refused(&zip_of(&[("../evil", b"x")]), "'..'");
    refused(&zip_of(&[("/abs", b"x")]), "absolute");
}

#[test]
fn links_inside_become_copies_and_the_hash_ignores_packing() {
    let tar = tar_gz(&[
        ("pkg", Directory, "", b""),
        ("pkg/problem.yaml", Regular, "", b"name: x\n"),
        ("pkg/data/a.in", Regular, "", b"1 2\n"),
        ("pkg/data/b.in", Symlink, "a.in", b""),
    ]);
    let dir = dest();
    extract(&tar, &dir.0, LIMITS).unwrap();
    let root = package_root(&dir.0);
    assert!(root.ends_with("pkg"));
    assert_eq!(std::fs::read(root.join("data/b.in")).unwrap(), b"1 2\n");
    assert!(!std::fs::symlink_metadata(root.join("data/b.in")).unwrap().file_type().is_symlink());
    let (canonical_tar, hash) = canonical(&root, LIMITS).unwrap();

    // The same files zipped without the wrapping folder: the same package.
    let zip = zip_of(&[("problem.yaml", b"name: x\n"), ("data/a.in", b"1 2\n"), ("data/b.in", b"1 2\n")]);
    let other = dest();
    extract(&zip, &other.0, LIMITS).unwrap();
    assert_eq!(canonical(&package_root(&other.0), LIMITS).unwrap().1, hash);

    // The canonical tar unpacks to the same files.
    let cache = dest();
    let target = cache.0.join(&hash);
    unpack_canonical(&canonical_tar, &target, LIMITS).unwrap();
    assert_eq!(std::fs::read(target.join("data/b.in")).unwrap(), b"1 2\n");
}
