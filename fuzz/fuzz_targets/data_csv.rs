//! A data CSV (`eval --data`): refused or read, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = seqdata::io::parse_csv(data);
});
