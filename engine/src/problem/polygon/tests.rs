//! Loading Polygon packages: the example packages and scratch ones with faults.

use std::path::{Path, PathBuf};

use super::super::{Problem, ProblemError, TestData, ValidatorProtocol, ValidatorSpec};
use super::PointsPolicy;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/problems").join(name)
}

/// A scratch package with `problem.xml` around `testset` and `assets`, and files.
fn scratch(testset: &str, assets: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::Builder::new().prefix("judge-polygon-test-").tempdir().unwrap();
    let dir = root.path().join("pkg");
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<problem short-name=\"pkg\"><judging input-file=\"\" output-file=\"\">\
         <testset name=\"tests\">{testset}</testset></judging><assets>{assets}</assets></problem>"
    );
    std::fs::write(dir.join("problem.xml"), xml).unwrap();
    (root, dir)
}

const TWO_TESTS: &str = "<time-limit>2500</time-limit><memory-limit>67108864</memory-limit>\
    <test-count>2</test-count><input-path-pattern>tests/%02d</input-path-pattern>\
    <answer-path-pattern>tests/%02d.a</answer-path-pattern>";
const TWO_FILES: [(&str, &str); 4] =
    [("tests/01", "1\n"), ("tests/01.a", "1\n"), ("tests/02", "2\n"), ("tests/02.a", "2\n")];

fn load_err(dir: &Path) -> String {
    match Problem::load(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(ProblemError::Invalid(msg)) => msg,
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_polysum_example_loads_with_its_points_checker_and_solutions() {
    let p = Problem::load(&example("polysum")).unwrap();
    assert_eq!((p.time_limit, p.memory_mib, p.title.as_deref()), (Some(1.0), 256, Some("Polygon Sum")));
    assert_eq!(
        p.tests.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["tests/01", "tests/02", "tests/03", "tests/04", "tests/05"]
    );
    assert!(p.tests[0].is_sample() && !p.tests[1].is_sample());
    assert!(p.scoring && !p.interactive);
    assert_eq!(p.validator_protocol, ValidatorProtocol::Testlib);
    assert!(matches!(&p.validator, ValidatorSpec::Custom(path) if path.ends_with("files/check.cpp")));
    let points = p.points.as_ref().unwrap();
    assert_eq!(points.tests, [0.0, 20.0, 20.0, 30.0, 30.0]);
    let groups: Vec<_> = points.groups.iter().map(|g| (g.name.as_str(), g.points, g.policy, g.tests.clone())).collect();
    assert_eq!(groups[1], ("1", Some(40.0), PointsPolicy::CompleteGroup, vec![1, 2]));
    assert_eq!(groups[2], ("2", None, PointsPolicy::EachTest, vec![3, 4]));
    assert_eq!(points.groups[2].dependencies, [1]);
    let kinds: Vec<String> = p.submissions().unwrap().into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(kinds, ["accepted", "accepted", "wrong_answer", "not_accepted", "time_limit_exceeded"]);
}

#[test]
fn the_polyguess_example_is_interactive_with_a_checker_of_tout() {
    let p = Problem::load(&example("polyguess")).unwrap();
    assert!(p.interactive && !p.scoring && p.points.is_none());
    assert!(matches!(&p.validator, ValidatorSpec::Custom(path) if path.ends_with("files/interactor.cpp")));
    assert!(matches!(&p.tout_checker, Some(ValidatorSpec::Custom(path)) if path.ends_with("files/check.cpp")));
}

#[test]
fn standard_checkers_become_the_default_validator_with_their_flags() {
    let (_root, dir) = scratch(TWO_TESTS, "<checker name=\"std::rcmp6.cpp\" type=\"testlib\"/>", &TWO_FILES);
    let p = Problem::load(&dir).unwrap();
    assert_eq!((p.time_limit, p.memory_mib), (Some(2.5), 64));
    assert_eq!(p.validator, ValidatorSpec::Default);
    assert_eq!(p.tests[0].validator_flags, ["float_tolerance 1e-6"]);
    assert_eq!(p.tests[0].default_flags.float_absolute, Some(1e-6));
    assert!(!p.scoring && p.submissions().unwrap().is_empty());

    let (_root, dir) = scratch(TWO_TESTS, "<checker name=\"std::uncmp.cpp\" type=\"testlib\"/>", &TWO_FILES);
    let err = load_err(&dir);
    assert!(err.contains("problem.xml") && err.contains("std::uncmp.cpp") && err.contains("not supported"), "{err}");
}

#[test]
fn a_generated_test_without_its_files_is_named_in_the_error() {
    let testset =
        format!("{TWO_TESTS}<tests><test method=\"manual\"/><test method=\"generated\" cmd=\"gen 5\"/></tests>");
    let (_root, dir) = scratch(&testset, "", &TWO_FILES[..3]);
    let err = load_err(&dir);
    assert!(err.contains("test 2") && err.contains("tests/02.a") && err.contains("generated"), "{err}");
}

#[test]
fn an_interactive_test_may_lack_its_answer() {
    let assets = "<interactor><source path=\"files/i.cpp\"/></interactor><checker name=\"std::wcmp.cpp\"/>";
    let mut files = TWO_FILES[..3].to_vec();
    files.push(("files/i.cpp", "int main(){}"));
    let (_root, dir) = scratch(TWO_TESTS, assets, &files);
    let p = Problem::load(&dir).unwrap();
    assert!(p.interactive);
    assert_eq!(p.tout_checker, Some(ValidatorSpec::Default));
    assert!(matches!(&p.tests[1].answer, TestData::Bytes(b) if b.is_empty()));

    let (_root, dir) = scratch(TWO_TESTS, "<interactor><source path=\"files/i.cpp\"/></interactor>", &files);
    let p = Problem::load(&dir).unwrap();
    assert!(p.interactive && p.tout_checker.is_none(), "without a checker the interactor decides");
}

#[test]
fn packages_that_cannot_be_judged_here_are_refused_clearly() {
    let outside = "<checker type=\"testlib\"><source path=\"../check.cpp\"/></checker>";
    let (_root, dir) = scratch(TWO_TESTS, outside, &TWO_FILES);
    assert!(load_err(&dir).contains("not inside the package"));

    let (_root, dir) =
        scratch(TWO_TESTS, "<checker type=\"testlib\"><source path=\"files/gone.cpp\"/></checker>", &TWO_FILES);
    assert!(load_err(&dir).contains("files/gone.cpp is missing"));

    let (_root, dir) = scratch(TWO_TESTS, "", &TWO_FILES);
    let xml = std::fs::read_to_string(dir.join("problem.xml")).unwrap();
    std::fs::write(dir.join("problem.xml"), xml.replace("input-file=\"\"", "input-file=\"input.txt\"")).unwrap();
    assert!(load_err(&dir).contains("input-file=\"input.txt\""));

    let (_root, dir) = scratch(&TWO_TESTS.replace("%02d.a", "%s.a"), "", &TWO_FILES);
    assert!(load_err(&dir).contains("path pattern"));

    let (_root, dir) = scratch(&TWO_TESTS.replace("<test-count>2", "<test-count>3"), "", &TWO_FILES);
    assert!(load_err(&dir).contains("test 3"));

    let (_root, dir) = scratch(TWO_TESTS, "<checker", &TWO_FILES);
    assert!(load_err(&dir).contains("problem.xml"));
}

#[test]
fn a_problem_yaml_wins_over_a_problem_xml() {
    let (_root, dir) = scratch(TWO_TESTS, "", &TWO_FILES);
    std::fs::write(dir.join("problem.yaml"), "validator_protocol: testlib\n").unwrap();
    let err = load_err(&dir);
    assert!(err.contains("no test cases"), "read as a Kattis package: {err}");
}

#[test]
fn a_kattis_package_may_ask_for_the_testlib_protocol() {
    let (_root, dir) = scratch("", "", &[("data/secret/1.in", "1\n"), ("data/secret/1.ans", "1\n")]);
    std::fs::remove_file(dir.join("problem.xml")).unwrap();
    std::fs::write(dir.join("problem.yaml"), "validation: custom\nvalidator_protocol: testlib\n").unwrap();
    std::fs::create_dir_all(dir.join("output_validators/check")).unwrap();
    std::fs::write(dir.join("output_validators/check/check.c"), "int main(void){return 0;}\n").unwrap();
    assert_eq!(Problem::load(&dir).unwrap().validator_protocol, ValidatorProtocol::Testlib);
    std::fs::write(dir.join("problem.yaml"), "validation: custom\nvalidator_protocol: icpc\n").unwrap();
    let err = load_err(&dir);
    assert!(err.contains("validator_protocol") && err.contains("testlib"), "{err}");
}

/// A zip at `path` holding `files` (name, bytes) and, when given, a symlink.
fn write_zip(path: &Path, files: &[(String, Vec<u8>)], symlink: Option<(&str, &str)>) {
    use std::io::Write;
    let options = zip::write::SimpleFileOptions::default();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    if let Some((name, target)) = symlink {
        zip.add_symlink(name, target, options).unwrap();
    }
    zip.finish().unwrap();
}

/// Every file under `dir` as (`prefix` + relative name, bytes).
fn files_under(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("{prefix}{}", path.file_name().unwrap().to_string_lossy());
        if path.is_dir() {
            out.extend(files_under(&path, &format!("{name}/")));
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn a_zipped_package_is_unpacked_for_as_long_as_the_problem_lives() {
    let root = tempfile::tempdir().unwrap();
    let archive = root.path().join("contest-a.zip");
    write_zip(&archive, &files_under(&example("polysum"), "polysum/"), None);
    let problem = Problem::load(&archive).unwrap();
    assert_eq!((problem.name.as_str(), problem.tests.len()), ("contest-a", 5));
    let dir = problem.dir.clone().unwrap();
    assert!(dir.join("files/check.cpp").is_file());
    let (_, first_solution) = &problem.submissions().unwrap()[0];
    assert!(first_solution.starts_with(&dir));
    let copy = problem.clone();
    drop(problem);
    assert!(dir.is_dir(), "a copy still uses it");
    drop(copy);
    assert!(!dir.exists(), "removed with the last copy");
}

#[test]
fn archives_that_escape_or_hold_no_package_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let files = files_under(&example("polysum"), "");
    let escaping = root.path().join("escape.zip");
    let mut evil = files.clone();
    evil.push(("../evil.txt".to_string(), b"x".to_vec()));
    write_zip(&escaping, &evil, None);
    assert!(load_err(&escaping).contains("outside the package"));
    assert!(!root.path().join("evil.txt").exists());

    let linked = root.path().join("link.zip");
    write_zip(&linked, &files, Some(("tests/06", "/etc/shadow")));
    assert!(load_err(&linked).contains("symlink"));

    let empty = root.path().join("empty.zip");
    write_zip(&empty, &[("readme.txt".to_string(), b"hi".to_vec())], None);
    assert!(load_err(&empty).contains("no problem.xml or problem.yaml"));

    let not_zip = root.path().join("fake.zip");
    std::fs::write(&not_zip, "not a zip").unwrap();
    assert!(load_err(&not_zip).contains("not a readable zip"));
}

#[test]
fn an_inline_problem_can_take_a_testlib_checker_as_source() {
    let inline = Problem::inline("t", vec![("1".into(), b"1\n".to_vec(), b"1\n".to_vec())], 1.0, 64, 64, vec![]);
    let problem =
        inline.unwrap().with_checker_source("check.cpp", b"int main(){}", ValidatorProtocol::Testlib).unwrap();
    assert_eq!(problem.validator_protocol, ValidatorProtocol::Testlib);
    let ValidatorSpec::Custom(path) = problem.validator.clone() else { panic!("no checker") };
    assert_eq!(std::fs::read(&path).unwrap(), b"int main(){}");
    drop(problem);
    assert!(!path.exists(), "removed with the problem");

    let inline = Problem::inline("t", vec![], 1.0, 64, 64, vec![]).unwrap();
    let err = inline.with_checker_source("../check.cpp", b"", ValidatorProtocol::Testlib).unwrap_err();
    assert!(err.to_string().contains("not a plain name"), "{err}");
}
