//! The inputs of `cargo xtask grads`: a parameter file (JSON) for every
//! kind, and a sequence; refused or used, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the kind (its low bits) and the precision (its
    // top bit); the rest is the parameter file.
    let Some((&k, rest)) = data.split_first() else { return };
    let kinds: Vec<models::ModelKind> = models::ModelKind::all().collect();
    let kind = kinds[usize::from(k & 0x7f) % kinds.len()];
    let precision = if k & 0x80 == 0 { nncore::Precision::F64 } else { nncore::Precision::F32 };
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = seqdata::io::parse_sequence(text, "--x");
    }
    let Ok(params) = serde_json::from_slice::<serde_json::Value>(rest) else { return };
    if let Ok(mut model) = kind.from_json(&params, precision) {
        let x = [0.3, -0.2, 0.9, 0.1];
        let y = [1.0, 0.0, 1.0, 1.0];
        let _ = model.loss_and_grad(&x, &y);
    }
});
