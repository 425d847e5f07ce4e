//! Writing results to standard output.

use std::io::Write as _;

use anyhow::{Context, Result};

/// Writes `text` to stdout. A reader that stops early (`| head`) ends the
/// output quietly instead of failing.
pub fn emit(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("cannot write to stdout"),
    }
}
