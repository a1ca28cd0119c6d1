// SPDX-License-Identifier: GPL-2.0-or-later
//! Syntax check for client volfiles, run before gfapi sees them.
//!
//! Why: libglusterfs (10.x) parses volfiles with a flex/bison parser whose
//! state is process-global and is not reset after a failed parse (the lexer
//! keeps the rest of the bad input buffered and the "current volume" pointer
//! stays set). After one volfile with a syntax error, an unknown translator
//! type or a duplicate volume name, *every later `glfs_init` in the process
//! fails with `EINVAL`*, including ones that fetch a perfectly good volfile
//! from glusterd. So we reject such volfiles ourselves, with a line number,
//! and never hand them to gfapi.
//!
//! The checker mirrors `libglusterfs/src/graph.l` (tokens) and `graph.y`
//! (grammar):
//!
//! ```text
//! volume NAME
//!     type XLATOR/TYPE
//!     option KEY VALUE        (any number, before and/or after subvolumes)
//!     subvolumes NAME...      (at most once)
//! end-volume
//! ```
//!
//! with `#` comments, `"quoted \"strings\""`, and at least one `option` or
//! `subvolumes` line per volume. Files containing backticks are passed
//! through unchecked (gluster runs the backtick commands before parsing, so
//! the text cannot be judged in advance).

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    VolumeBegin,
    VolumeEnd,
    Type,
    Opt,
    Subvolumes,
    Word(String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::VolumeBegin => "'volume'".into(),
            Tok::VolumeEnd => "'end-volume'".into(),
            Tok::Type => "'type'".into(),
            Tok::Opt => "'option'".into(),
            Tok::Subvolumes => "'subvolumes'".into(),
            Tok::Word(w) => format!("'{w}'"),
        }
    }
}

/// Problem found in a volfile: 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) line: usize,
    pub(crate) msg: String,
}

fn problem(line: usize, msg: impl Into<String>) -> Problem {
    Problem {
        line,
        msg: msg.into(),
    }
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, Problem> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut it = text.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            ' ' | '\t' | '\r' => {
                it.next();
            }
            '\n' => {
                line += 1;
                it.next();
            }
            '#' => {
                while let Some(&c) = it.peek() {
                    if c == '\n' {
                        break;
                    }
                    it.next();
                }
            }
            '"' => {
                let start = line;
                it.next();
                let mut s = String::new();
                loop {
                    match it.next() {
                        None => return Err(problem(start, "unterminated quoted string")),
                        Some('"') => break,
                        Some('\\') => match it.next() {
                            // flex: `\\.` does not match a newline; both are dropped.
                            Some('\n') => line += 1,
                            Some(c) => s.push(c),
                            None => return Err(problem(start, "unterminated quoted string")),
                        },
                        // flex echoes (drops) a newline inside a string.
                        Some('\n') => line += 1,
                        Some(c) => s.push(c),
                    }
                }
                out.push((Tok::Word(s), start));
            }
            '\\' => return Err(problem(line, "unexpected '\\' outside a quoted string")),
            _ => {
                let mut w = String::new();
                while let Some(&c) = it.peek() {
                    if matches!(c, ' ' | '\t' | '\r' | '\n' | '"' | '\\') {
                        break;
                    }
                    w.push(c);
                    it.next();
                }
                let tok = match w.as_str() {
                    "volume" => Tok::VolumeBegin,
                    "end-volume" => Tok::VolumeEnd,
                    "type" => Tok::Type,
                    "option" => Tok::Opt,
                    "subvolumes" | "subvolumeS" => Tok::Subvolumes,
                    _ => Tok::Word(w),
                };
                out.push((tok, line));
            }
        }
    }
    Ok(out)
}

/// Check `text`; `xlator_dir` (gluster's `XLATORDIR`), if given, is used to
/// verify that every `type` names an installed translator.
pub(crate) fn check(text: &str, xlator_dir: Option<&Path>) -> Result<(), Problem> {
    if text.contains('`') {
        return Ok(());
    }
    let toks = lex(text)?;
    let last_line = text.lines().count().max(1);
    let mut i = 0;
    let mut names: Vec<String> = Vec::new();
    let word = |i: usize| match toks.get(i) {
        Some((Tok::Word(w), _)) => Some(w.clone()),
        _ => None,
    };
    let line_of = |i: usize| toks.get(i).map_or(last_line, |t| t.1);
    let found = |i: usize| {
        toks.get(i)
            .map_or("end of file".to_string(), |t| t.0.describe())
    };

    if toks.is_empty() {
        return Err(problem(1, "no volume definitions"));
    }
    while i < toks.len() {
        if toks[i].0 != Tok::VolumeBegin {
            return Err(problem(
                line_of(i),
                format!("expected 'volume', found {}", found(i)),
            ));
        }
        i += 1;
        let Some(name) = word(i) else {
            return Err(problem(
                line_of(i),
                format!("expected a volume name, found {}", found(i)),
            ));
        };
        if names.contains(&name) {
            return Err(problem(
                line_of(i),
                format!("volume '{name}' defined again"),
            ));
        }
        i += 1;
        // type XLATOR
        if toks.get(i).map(|t| &t.0) != Some(&Tok::Type) {
            return Err(problem(
                line_of(i),
                format!("volume '{name}': expected 'type', found {}", found(i)),
            ));
        }
        let type_line = line_of(i);
        i += 1;
        let Some(xl_type) = word(i) else {
            return Err(problem(
                line_of(i),
                format!("volume '{name}': 'type' needs a value"),
            ));
        };
        i += 1;
        let mut lines = 0;
        let mut saw_sub = false;
        loop {
            match toks.get(i).map(|t| &t.0) {
                Some(Tok::Opt) => {
                    if word(i + 1).is_none() || word(i + 2).is_none() {
                        return Err(problem(
                            line_of(i),
                            format!("volume '{name}': expected 'option <key> <value>'"),
                        ));
                    }
                    i += 3;
                    lines += 1;
                }
                Some(Tok::Subvolumes) => {
                    if saw_sub {
                        return Err(problem(
                            line_of(i),
                            format!("volume '{name}': duplicate 'subvolumes'"),
                        ));
                    }
                    let at = line_of(i);
                    i += 1;
                    let mut n = 0;
                    while let Some(sub) = word(i) {
                        if !names.contains(&sub) {
                            return Err(problem(
                                line_of(i),
                                format!("volume '{name}': subvolume '{sub}' is not defined before use"),
                            ));
                        }
                        n += 1;
                        i += 1;
                    }
                    if n == 0 {
                        return Err(problem(at, format!("volume '{name}': 'subvolumes' needs names")));
                    }
                    saw_sub = true;
                    lines += 1;
                }
                Some(Tok::VolumeEnd) => {
                    if lines == 0 {
                        return Err(problem(
                            line_of(i),
                            format!(
                                "volume '{name}': needs at least one 'option' or 'subvolumes' line \
                                 (gluster's grammar)"
                            ),
                        ));
                    }
                    i += 1;
                    break;
                }
                Some(Tok::Type) => {
                    return Err(problem(line_of(i), format!("volume '{name}': duplicate 'type'")))
                }
                _ => {
                    return Err(problem(
                        line_of(i),
                        format!("volume '{name}': expected 'option', 'subvolumes' or 'end-volume', found {}", found(i)),
                    ))
                }
            }
        }
        if let Some(dir) = xlator_dir {
            let so = dir.join(format!("{xl_type}.so"));
            if xl_type.contains("..") || !so.is_file() {
                return Err(problem(
                    type_line,
                    format!(
                        "volume '{name}': translator type '{xl_type}' is not installed ({} not found)",
                        so.display()
                    ),
                ));
            }
        }
        names.push(name);
    }
    Ok(())
}

/// gluster's translator directory, if it can be found: the build-time
/// discovered `<libdir>/glusterfs/<version>/xlator`, when it exists.
pub(crate) fn xlator_dir() -> Option<&'static Path> {
    let dir = Path::new(option_env!("GFAPI_XLATOR_DIR")?);
    dir.is_dir().then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
# comment
volume v-client-0
    type protocol/client
    option remote-host vm   # trailing comment
    option remote-subvolume "/tmp/b r\"ick"
end-volume

volume v-dht
    type cluster/distribute
    subvolumes v-client-0
    option lookup-optimize on
end-volume

volume v
    type debug/io-stats
    option log-level INFO
    subvolumes v-dht
end-volume
"#;

    #[test]
    fn accepts_valid() {
        check(GOOD, None).unwrap();
        if let Some(d) = xlator_dir() {
            check(GOOD, Some(d)).unwrap();
        }
    }

    #[test]
    fn rejects_what_would_poison_the_parser() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "no volume definitions"),
            ("this is not a volfile\n", 1, "expected 'volume', found 'this'"),
            ("volume x\n type debug/io-stats\nend-volume\n", 3, "needs at least one"),
            ("volume x\n option a b\nend-volume\n", 2, "expected 'type'"),
            ("volume x\n type\nend-volume\n", 3, "'type' needs a value"),
            ("volume x\n type t\n option a\nend-volume\n", 3, "option <key> <value>"),
            ("volume x\n type t\n option a b\n", 3, "found end of file"),
            (
                "volume x\n type t\n option a b\nend-volume\nvolume x\n type t\n option a b\nend-volume\n",
                5,
                "defined again",
            ),
            ("volume x\n type t\n subvolumes y\nend-volume\n", 3, "'y' is not defined"),
            ("volume x\n type t\n option a \"b\n", 3, "unterminated"),
            ("volume x\n type t\n type u\n", 3, "duplicate 'type'"),
            ("volume x\n type t\n option option b\nend-volume\n", 3, "option <key> <value>"),
        ];
        for (text, line, msg) in cases {
            let p = check(text, None).unwrap_err();
            assert_eq!(p.line, *line, "{text:?}: {p:?}");
            assert!(p.msg.contains(msg), "{text:?}: {p:?}");
        }
    }

    #[test]
    fn unknown_translator_type() {
        let dir = std::env::temp_dir();
        let p = check(
            "volume x\n type no/such\n option a b\nend-volume\n",
            Some(&dir),
        )
        .unwrap_err();
        assert_eq!(p.line, 2);
        assert!(p.msg.contains("'no/such' is not installed"), "{p:?}");
    }

    #[test]
    fn keywords_only_as_whole_words_and_quoted_keywords_are_words() {
        check(
            "volume volumes\n type t\n option \"type\" typed\n option x#y z\nend-volume\n",
            None,
        )
        .unwrap();
    }

    #[test]
    fn backticks_are_left_to_gluster() {
        check("`echo anything`", None).unwrap();
    }
}
