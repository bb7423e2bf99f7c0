//! The whole topology reader on arbitrary bytes: the binary-file check,
//! the YAML parser, `--set` overrides and every check. An input may carry
//! overrides after a line `%%set`, one `PATH=VALUE` per line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    stormcast::spec::fuzzing::topology(data);
});
