//! [`EngineError`], the error every layer of the engine reports to fio: an
//! errno (what fio records in `td->error` or an io_u) and a message.

use crate::options::OptionError;

/// An error the engine reports to fio: an errno plus a message.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct EngineError {
    errno: i32,
    msg: String,
}

impl EngineError {
    pub fn new(errno: i32, msg: impl Into<String>) -> EngineError {
        EngineError {
            errno,
            msg: msg.into(),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> EngineError {
        EngineError::new(libc::EINVAL, msg)
    }

    /// A failed gfapi call: its errno (EIO if it has none) and `context`.
    pub fn gfapi(e: &gfapi::Error, context: impl std::fmt::Display) -> EngineError {
        EngineError::new(
            e.raw_os_error().unwrap_or(libc::EIO),
            format!("{context}: {e}"),
        )
    }

    pub fn errno(&self) -> i32 {
        self.errno
    }
}

impl From<OptionError> for EngineError {
    fn from(e: OptionError) -> Self {
        EngineError::invalid(e.0)
    }
}
