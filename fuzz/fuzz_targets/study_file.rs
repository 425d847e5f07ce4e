//! A study file (`study --config`, TOML): refused or read, never a panic; a
//! study read is checked and planned.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(s) = study::Study::from_toml(text)
        && s.check().is_ok()
    {
        let _ = s.to_toml();
        // The plan is small enough to list only for a small study.
        if s.variants.len() * s.lengths.len() * s.seeds.len() <= 10_000 {
            let _ = s.jobs();
        }
    }
});
