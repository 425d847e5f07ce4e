//! A `.npz` archive (`eval --data d.npz`): refused or read, never a panic,
//! and never an allocation a member's header claims but the member does not
//! hold.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = seqdata::io::parse_npz(data);
});
