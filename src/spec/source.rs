//! The ways into `spec`: bytes → text (refusing what is not a text file or
//! is too large to be a topology), and text plus `--set PATH=VALUE`
//! overrides → a checked [`Model`] with the notes loading made.
//!
//! Reads no file itself; the CLI reads the bytes, the fuzz targets make
//! them up. Every problem is a [`Diagnostic`]; nothing here panics on any
//! input.

use super::{Diagnostic, Diagnostics, LoadOptions, patch, topology, yaml};
use crate::model::Model;

/// Largest topology accepted, in bytes: far above any real topology, far
/// below what would strain the machine.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// A checked topology and what loading wants the user to know without
/// refusing the file (printed on stderr, never on stdout).
#[derive(Debug)]
pub struct Loaded {
    pub model: Model,
    pub notes: Diagnostics,
}

fn whole_file(file: &str, line: usize, column: usize, message: String, hint: &str) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        file: file.to_string(),
        line,
        column,
        path: String::new(),
        message,
        hint: Some(hint.to_string()),
    }])
}

/// 1-based line and column (in characters) of byte `at` of valid UTF-8.
fn line_col(valid: &str, at: usize) -> (usize, usize) {
    let before = &valid[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Refuses a file of `len` bytes if it is larger than [`MAX_FILE_BYTES`]
/// (callers can ask before reading it).
pub fn check_size(file: &str, len: u64) -> Result<(), Diagnostics> {
    if len > MAX_FILE_BYTES as u64 {
        let msg = format!("the file is {len} bytes, more than the {MAX_FILE_BYTES} a topology may have");
        return Err(whole_file(
            file,
            0,
            0,
            msg,
            "a topology is a short text file; check that this is the file you meant",
        ));
    }
    Ok(())
}

/// The text of a topology file: UTF-8 without NUL bytes, at most
/// [`MAX_FILE_BYTES`].
pub fn text_of(file: &str, bytes: &[u8]) -> Result<String, Diagnostics> {
    const BINARY: &str = "a topology is YAML text in UTF-8; check that this is the file you meant";
    check_size(file, bytes.len() as u64)?;
    // Whichever comes first: a NUL byte or a byte that is not UTF-8.
    let nul = bytes.iter().position(|&b| b == 0);
    let bad_utf8 = std::str::from_utf8(bytes).err().map(|e| e.valid_up_to());
    let (at, what) = match (nul, bad_utf8) {
        (Some(n), Some(u)) if u < n => (u, None),
        (Some(n), _) => (n, Some("a NUL byte")),
        (None, Some(u)) => (u, None),
        (None, None) => return Ok(String::from_utf8_lossy(bytes).into_owned()),
    };
    // Everything before `at` is valid UTF-8 in both cases.
    let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let (line, col) = line_col(valid, at);
    let msg = match what {
        Some(w) => format!("this is not a text file: it has {w} at byte {at}"),
        None => format!("this is not a text file: byte {at} (0x{:02x}) is not UTF-8", bytes[at]),
    };
    let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
    let hint = if utf16 { "the file looks like UTF-16: save it as UTF-8" } else { BINARY };
    Err(whole_file(file, line, col, msg, hint))
}

/// Parses `text`, applies the `PATH=VALUE` overrides in order, and checks
/// the result. Problems with an override are reported against the file
/// `--set`.
pub fn load(file: &str, text: &str, sets: &[String], opts: &LoadOptions) -> Result<Loaded, Diagnostics> {
    let parsed = yaml::parse(text);
    if sets.is_empty() || !parsed.errors.is_empty() || parsed.root.is_none() {
        return topology::load_parsed(file, parsed, opts);
    }
    let Some(mut root) = parsed.root else { return topology::load_parsed(file, parsed, opts) };
    let mut problems = Vec::new();
    for set in sets {
        let result = set
            .split_once('=')
            .ok_or_else(|| format!("'{set}' is not PATH=VALUE"))
            .and_then(|(p, v)| patch::set_path(&mut root, p.trim(), patch::parse_value(v.trim())?));
        if let Err(message) = result {
            problems.push(Diagnostic {
                file: "--set".into(),
                line: 0,
                column: 0,
                path: set.clone(),
                message,
                hint: Some(
                    "write --set services.db.replicas=3 or --set 'services.api.endpoints.get.steps[0].timeout=200ms'"
                        .into(),
                ),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }
    topology::load_root(file, &root, opts, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_files_are_refused_with_a_position() {
        let e = text_of("x.yaml", b"name: a\nseed: \xff\xfe\n").unwrap_err();
        let d = &e.0[0];
        assert!(d.message.contains("not a text file"), "{}", d.message);
        assert_eq!((d.line, d.column), (2, 7));
        let e = text_of("x.yaml", "naïve: 1\nb: \0\n".as_bytes()).unwrap_err();
        assert!(e.0[0].message.contains("NUL"), "{}", e.0[0].message);
        assert_eq!((e.0[0].line, e.0[0].column), (2, 4));
        assert_eq!(text_of("x.yaml", "a: é\n".as_bytes()).unwrap(), "a: é\n");
        let e = text_of("x.yaml", b"\xff\xfen\x00a\x00").unwrap_err();
        assert!(e.0[0].hint.as_deref().unwrap().contains("UTF-16"));
    }

    #[test]
    fn huge_files_are_refused_before_parsing() {
        let big = vec![b'#'; MAX_FILE_BYTES + 1];
        let e = text_of("big.yaml", &big).unwrap_err();
        assert!(e.0[0].message.contains("more than"), "{}", e.0[0].message);
    }
}
