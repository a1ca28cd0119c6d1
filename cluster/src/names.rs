//! What GlusterFS accepts as volume names, brick paths and volume options, and the
//! unique volume names this crate makes ([`unique_name`]) and reads back
//! ([`parse_unique_name`], for [`crate::cleanup_stale`]). Every layer that hands a name
//! or path to gluster checks it here first.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::procfs::now_unix;

/// Prefix of generated volume names unless the spec says otherwise.
pub const DEFAULT_PREFIX: &str = "grs";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh volume name `PREFIX-PID-COUNTER-UNIXTIME`; [`crate::cleanup_stale`] reads the
/// pid and time back to tell whether the creator still runs.
pub fn unique_name(prefix: &str) -> Result<String> {
    validate_prefix(prefix)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        now_unix()
    ))
}

/// The (pid, counter, unix time) encoded in a name made by [`crate::unique_name`]: the name
/// is `PREFIX[-MORE]-PID-COUNTER-TIME`.
pub fn parse_unique_name(name: &str, prefix: &str) -> Option<(u32, u64, u64)> {
    if !name.starts_with(prefix) {
        return None;
    }
    let mut parts = name.rsplitn(4, '-');
    let time = parts.next()?.parse().ok()?;
    let counter = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    let head = parts.next()?;
    // The prefix must be the whole head or a whole leading `-` part of it.
    let whole = head == prefix
        || head
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('-'));
    if !whole {
        return None;
    }
    Some((pid, counter, time))
}

/// Volume names: 1..=128 of `[A-Za-z0-9_-]`, not starting with `-`, not `all`.
pub(crate) fn validate_volume_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.len() > 128 {
        Some("must be 1 to 128 characters long")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some("gluster allows only letters, digits, '-' and '_'")
    } else if name.starts_with('-') {
        Some("must not start with '-'")
    } else if name == "all" {
        Some("'all' is reserved by the gluster CLI")
    } else {
        None
    };
    match reason {
        Some(r) => Err(Error::invalid("volume name", name, r)),
        None => Ok(()),
    }
}

fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > 64 {
        return Err(Error::invalid(
            "volume name prefix",
            prefix,
            "longer than 64",
        ));
    }
    validate_volume_name(prefix).map_err(|e| match e {
        Error::Invalid { value, reason, .. } => Error::Invalid {
            what: "volume name prefix",
            value,
            reason,
        },
        other => other,
    })
}

/// Brick paths gluster can really use. Its CLI re-splits arguments at whitespace (a brick
/// `/a b` silently becomes `/a`), `:` separates host and path, and `#`, `"` and `\` break
/// the volfiles glusterd writes for the brick. A backtick is worse: glusterd writes the
/// path unescaped into the brick volfile, and GlusterFS runs `` `...` `` spans of volfiles
/// through a shell, as root, in the brick process. Anything else (`;`, `$`, `'`, `&`, ...)
/// is fine: no shell is involved on our side.
pub(crate) fn validate_brick_path(path: &Path) -> Result<()> {
    let Some(s) = path.to_str() else {
        return Err(Error::invalid(
            "brick path",
            path.to_string_lossy(),
            "not valid UTF-8",
        ));
    };
    if !path.is_absolute() {
        return Err(Error::invalid("brick path", s, "must be absolute"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '#' | '"' | '\\' | '`'))
    {
        return Err(Error::invalid(
            "brick path",
            s,
            format!(
                "contains {c:?}, which GlusterFS cannot handle in a brick path \
                 (its CLI splits at whitespace; ':', '#', '\"' and '\\' break brick specs and \
                 volfiles; glusterd writes it unescaped into volfiles, where GlusterFS hands \
                 `...` to a shell)"
            ),
        ));
    }
    Ok(())
}

/// Option keys and values: no whitespace (the CLI re-splits) and no backtick (glusterd
/// copies values into volfiles, where GlusterFS runs `` `...` `` through a shell).
pub(crate) fn validate_option(key: &str, value: &str) -> Result<()> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || c == '`';
    if key.is_empty() || key.chars().any(bad) {
        return Err(Error::invalid(
            "volume option key",
            key,
            "must be non-empty, without whitespace or '`'",
        ));
    }
    if value.is_empty() || value.chars().any(bad) {
        return Err(Error::invalid(
            "volume option value",
            value,
            "must be non-empty, without whitespace (the gluster CLI re-splits it) or '`' \
             (GlusterFS runs `...` in volfiles through a shell)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let a = unique_name("grs").unwrap();
        let b = unique_name("grs").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("grs-{}-", std::process::id())));
        validate_volume_name(&a).unwrap();
        assert!(unique_name("bad name").is_err());
        assert!(unique_name("a;b").is_err());
        assert!(validate_volume_name("all").is_err());
        assert!(validate_volume_name("-x").is_err());
        assert!(validate_volume_name("").is_err());
        validate_volume_name("ok_Name-1").unwrap();
    }

    #[test]
    fn brick_paths() {
        validate_brick_path(Path::new("/tmp/a;b$(x)&|'<>*?/b0")).unwrap();
        for bad in [
            "/tmp/a b",
            "/tmp/a\tb",
            "/tmp/a:b",
            "/tmp/a#b",
            "/tmp/a\"b",
            "/tmp/a\\b",
            "rel/b",
        ] {
            assert!(validate_brick_path(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn options() {
        validate_option("a.b", "on").unwrap();
        assert!(validate_option("a.b", "x y").is_err());
        assert!(validate_option("a.b", "`id`").is_err());
        assert!(validate_option("", "x").is_err());
    }

    #[test]
    fn parses_unique_names() {
        assert_eq!(
            parse_unique_name("grs-12-3-1700000000", "grs"),
            Some((12, 3, 1700000000))
        );
        assert_eq!(
            parse_unique_name("grs-gfapi-12-3-1700000000", "grs"),
            Some((12, 3, 1700000000))
        );
        assert_eq!(
            parse_unique_name("grs-gfapi-12-3-1700000000", "grs-gfapi"),
            Some((12, 3, 1700000000))
        );
        assert_eq!(parse_unique_name("grs-gfapi-exp", "grs"), None);
        assert_eq!(parse_unique_name("tv", "grs"), None);
        assert_eq!(parse_unique_name("other-12-3-1700000000", "grs"), None);
        // The prefix must not reach into the numeric tail.
        assert_eq!(parse_unique_name("grs-12-3-1700000000", "grs-12"), None);
        assert_eq!(parse_unique_name("grs-x-3-1700000000", "grs"), None);
        assert_eq!(parse_unique_name("grsfoo-1-3-1700000000", "grs"), None);
    }
}
