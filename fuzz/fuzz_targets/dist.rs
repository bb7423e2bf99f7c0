//! The distribution language (`exp(5ms)`, `mix(…)`, `empirical(file=…)`)
//! on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    stormcast::spec::fuzzing::dist(data);
});
