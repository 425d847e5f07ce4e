//! A `.npy` array (`eval --data x.npy`, and the labels of `_y.npy`): refused
//! or read, never a panic, and never an allocation its header claims but the
//! file does not hold.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = seqdata::io::parse_npy(data);
    let _ = seqdata::io::parse_npy_labels(data);
});
