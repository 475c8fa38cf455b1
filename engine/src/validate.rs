//! The default output validator (token compare with the Kattis flags).
//! STUB: interface agreed, body pending.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flags {
    pub case_sensitive: bool,
    pub space_change_sensitive: bool,
    pub float_absolute: Option<f64>,
    pub float_relative: Option<f64>,
}

impl Flags {
    pub fn parse(_flags: &[String]) -> Result<Flags, String> {
        todo!()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Accepted,
    /// With a short judge message naming where output and answer differ.
    WrongAnswer(String),
}

/// Compares the team's output against the answer file.
pub fn compare(_answer: &[u8], _output: &[u8], _flags: &Flags) -> Outcome {
    todo!()
}
