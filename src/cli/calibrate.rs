//! `stormcast calibrate ITERATIONS.csv [--json]`: the coefficients of an
//! inference server's `iteration:` fitted to a log of real iterations
//! (see `calibrate`). Reads the file, prints the table (or the JSON) on
//! stdout; notes and problems on stderr; exit 2 on a bad file.

use super::{EXIT_BAD_INPUT, EXIT_OK, read_source, usage_error};
use crate::calibrate;
use crate::spec;
use std::io::Write;
use std::path::Path;

pub(super) fn cmd_calibrate(file: &Path, json: bool) -> i32 {
    let name = file.display().to_string();
    let text = match read_source(file).and_then(|bytes| spec::text_of(&name, &bytes)) {
        Ok(t) => t,
        Err(d) => {
            eprint!("{}", d.render_with(&|_| None));
            return EXIT_BAD_INPUT;
        }
    };
    let log = match calibrate::csv::read(&name, &text) {
        Ok(log) => log,
        Err(d) => {
            eprint!("{}", d.render(&text));
            return EXIT_BAD_INPUT;
        }
    };
    for note in &log.notes {
        eprintln!("{name}: {note}");
    }
    let result = calibrate::calibrate(&log);
    let out = if json {
        serde_json::to_string_pretty(&result).map(|s| s + "\n").unwrap_or_default()
    } else {
        calibrate::text::render(&result, &name)
    };
    if let Err(e) = std::io::stdout().lock().write_all(out.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return usage_error(&format!("cannot write the result: {e}"));
    }
    EXIT_OK
}
