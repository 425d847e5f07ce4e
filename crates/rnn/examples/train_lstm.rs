//! Trains an LSTM (PyTorch's equations, forget-gate bias 1) at length 8 with
//! Adam, scores it on a held-out set and saves its parameters as JSON.
//!
//! ```sh
//! cargo run --release -p rnn --example train_lstm              # saves to the temp folder
//! cargo run --release -p rnn --example train_lstm -- lstm.json
//! ```
//!
//! Runs in about a second in release. The gate biases are in the recurrent
//! learning-rate group, which the article's 0.001 would barely move: the
//! gated cells take one rate for both groups here.

use std::path::PathBuf;

use nncore::{Adam, SequenceModel, Trainer, score};
use rand::Rng;
use rnn::{Lstm, LstmCell};
use seqdata::{AlternatingSign, DEFAULT_HELDOUT_SEED, Stream, seeded_rng};

const LENGTH: usize = 8;
const ITERS: usize = 3_000;
const SEED: u64 = 0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("rnnstudy_lstm_L8.json"));

    let task = AlternatingSign::new(LENGTH)?;
    let pool = task.training_pool(SEED)?;
    let heldout = task.heldout(2_000, DEFAULT_HELDOUT_SEED)?;

    let mut model = Lstm::new(LstmCell::default(), &mut seeded_rng(SEED, Stream::Init))?;
    let mut trainer = Trainer::new(Adam::new(0.01, 0.01)?);
    let mut order = seeded_rng(SEED, Stream::Sampling);
    for iter in 1..=ITERS {
        let (x, y) = pool.sample(order.random_range(0..pool.len()));
        let stats = trainer.step(&mut model, x, y)?;
        if iter % 500 == 0 {
            let s = score(
                model.predict_batch(heldout.inputs())?.view(),
                heldout.labels(),
            );
            println!(
                "iter {iter:>5}: loss {:.4}, held-out accuracy {:.4}",
                stats.loss, s.per_element
            );
        }
    }

    let s = score(
        model.predict_batch(heldout.inputs())?.view(),
        heldout.labels(),
    );
    println!(
        "LSTM, L = {LENGTH}, {ITERS} iterations of Adam: held-out accuracy {:.4}, exact match {:.4}",
        s.per_element, s.exact
    );

    let json = serde_json::to_string_pretty(&model.params().to_json())?;
    std::fs::write(&out, json).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("parameters saved to {}", out.display());
    Ok(())
}
