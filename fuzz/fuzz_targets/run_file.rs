//! A run file (`runs/*.json`, read by resume and merge): refused or read,
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(run) = study::RunReport::from_slice(data) {
        let _ = run.file_name();
    }
});
