//! A model file (`train --save`, `eval --load`): any bytes are refused or
//! loaded, never a panic; a loaded model predicts.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((file, model)) = models::ModelFile::from_slice(data) {
        let _ = file.describe();
        let x = vec![0.5; file.length.min(64)];
        let _ = model.predict_batch(ndarray::ArrayView2::from_shape((1, x.len()), &x).unwrap());
    }
});
