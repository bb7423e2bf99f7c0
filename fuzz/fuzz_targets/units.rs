//! Durations, rates and ratios on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    stormcast::spec::fuzzing::units(data);
});
