//! Language definitions (`languages/*.toml`, also embedded in the binary).
//! STUB: interface agreed, body pending.

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct LanguageInfo {
    pub id: String,
    pub name: String,
    pub extensions: Vec<String>,
    pub available: bool,
}

#[derive(Debug, Default)]
pub struct Languages {}

impl Languages {
    /// The definitions compiled into the binary.
    pub fn embedded() -> Result<Languages, String> {
        todo!()
    }

    pub fn from_dir(_dir: &std::path::Path) -> Result<Languages, String> {
        todo!()
    }

    pub fn list(&self) -> Vec<LanguageInfo> {
        todo!()
    }

    /// Language id for a file name by its extension.
    pub fn id_for_file(&self, _file: &str) -> Result<String, String> {
        todo!()
    }
}
