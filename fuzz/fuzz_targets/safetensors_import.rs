//! A safetensors file (`cargo xtask import --from`): any bytes are refused
//! or imported, with and without a given kind and length, never a panic; an
//! imported model predicts and its model file reads back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use models::torch::{ImportOptions, from_safetensors};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let kinds: Vec<models::ModelKind> = models::ModelKind::all().collect();
    let mut options = ImportOptions::new("fuzz.safetensors");
    options.heldout = 16;
    if pick & 1 == 1 {
        options.kind = Some(kinds[usize::from(pick >> 1) % kinds.len()]);
        options.length = Some(usize::from(pick >> 4) + 1);
    }
    if let Ok(import) = from_safetensors(bytes, &options) {
        let x = vec![0.5; import.file.length.min(64)];
        let _ = import
            .model
            .predict_batch(ndarray::ArrayView2::from_shape((1, x.len()), &x).unwrap());
        let json = serde_json::to_vec(&import.file).unwrap();
        assert!(models::ModelFile::from_slice(&json).is_ok());
    }
});
