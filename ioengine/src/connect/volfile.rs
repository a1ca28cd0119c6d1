//! The custom volfile mode (`volfile=PATH`): what the engine checks before
//! gfapi reads the file, so that a bad path fails clearly instead of
//! hanging or running commands.

use std::path::Path;

use crate::error::EngineError;

/// Refuses a volfile gfapi must not read: not a regular file (a fifo or
/// device would block gfapi's read for ever), or one with a backtick.
pub fn check(p: &Path) -> Result<(), EngineError> {
    // A fifo (or device) would block the read in gfapi for ever.
    match std::fs::metadata(p) {
        Ok(m) if !m.is_file() => {
            let (errno, what) = if m.is_dir() {
                (libc::EISDIR, "a directory")
            } else {
                (libc::EINVAL, "not a regular file")
            };
            return Err(EngineError::new(
                errno,
                format!("cannot read volfile {}: {what}", p.display()),
            ));
        }
        _ => {}
    }
    // GlusterFS hands any `...` span of a volfile to a shell (popen)
    // when it loads it: a volfile= option must not run commands.
    if let Ok(text) = std::fs::read(p) {
        if let Some(i) = text.iter().position(|&b| b == b'`') {
            let line = 1 + text[..i].iter().filter(|&&b| b == b'\n').count();
            return Err(EngineError::invalid(format!(
                "volfile {}, line {line}: a backtick; GlusterFS would run the text between \
                 backticks as a shell command (refused)",
                p.display()
            )));
        }
    }
    Ok(())
}
