//! Default limits and units, defined once for the engine, the CLI and the server.

/// One mebibyte in bytes.
pub const MIB: u64 = 1 << 20;
/// CPU time limit in seconds when neither the package nor the caller gives one.
pub const DEFAULT_TIME_LIMIT: f64 = 1.0;
/// Memory limit in MiB when the package does not give one (problemtools' default).
pub const DEFAULT_MEMORY_MIB: u64 = 256;
/// Output limit in MiB when the package does not give one.
pub const DEFAULT_OUTPUT_MIB: u64 = 64;
/// The smallest CPU time limit a run may have, in seconds: below a millisecond no
/// program even starts, and the monitor samples no finer.
pub const MIN_TIME_LIMIT: f64 = 0.001;
