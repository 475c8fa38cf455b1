//! Tests of package loading and scoring, on scratch packages written to a temp directory.

mod errors;
mod load;
mod score;
mod untrusted;

use std::path::PathBuf;

use super::{Problem, ProblemError};
use crate::Verdict;

/// A scratch problem package, removed on drop.
pub(super) struct Pkg {
    pub(super) root: tempfile::TempDir,
    pub(super) dir: PathBuf,
}

impl Pkg {
    pub(super) fn new(name: &str) -> Pkg {
        let root = tempfile::Builder::new().prefix("judge-problem-test-").tempdir().unwrap();
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        Pkg { root, dir }
    }

    pub(super) fn file(&self, rel: &str, content: &str) -> &Self {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// `.in` and `.ans` for each name (path under data/ without extension).
    pub(super) fn tests(&self, names: &[&str]) -> &Self {
        for n in names {
            self.file(&format!("data/{n}.in"), &format!("in {n}\n"));
            self.file(&format!("data/{n}.ans"), &format!("ans {n}\n"));
        }
        self
    }

    pub(super) fn load(&self) -> Result<Problem, ProblemError> {
        Problem::load(&self.dir)
    }

    pub(super) fn err(&self) -> String {
        match self.load() {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }
}

pub(super) fn names(p: &Problem) -> Vec<&str> {
    p.tests.iter().map(|t| t.name.as_str()).collect()
}

pub(super) fn verdicts(s: &str) -> Vec<Verdict> {
    s.chars().map(|c| if c == 'A' { Verdict::AC } else { Verdict::WA }).collect()
}
