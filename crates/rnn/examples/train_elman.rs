//! Trains the article's Elman RNN at length 8, scores it on a held-out set
//! and saves its parameters as JSON.
//!
//! ```sh
//! cargo run --release -p rnn --example train_elman              # saves to the temp folder
//! cargo run --release -p rnn --example train_elman -- elman.json
//! ```
//!
//! Runs in about a second in release. The saved JSON is the layout
//! `ElmanRnn::from_json` and `cargo xtask grads --model rnn --params` read.

use std::path::PathBuf;

use nncore::{SequenceModel, Sgd, Trainer, score};
use rand::Rng;
use rnn::{Elman, ElmanRnn};
use seqdata::{AlternatingSign, DEFAULT_HELDOUT_SEED, Stream, seeded_rng};

const LENGTH: usize = 8;
const ITERS: usize = 5_000;
const SEED: u64 = 0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("rnnstudy_elman_L8.json"));

    let task = AlternatingSign::new(LENGTH)?;
    let pool = task.training_pool(SEED)?;
    let heldout = task.heldout(2_000, DEFAULT_HELDOUT_SEED)?;

    // The article's model (hidden 100, tanh) and optimiser (SGD, 0.1 for
    // W_in/W_out/b_out, 0.001 for W/b).
    let mut model = ElmanRnn::new(Elman::default(), &mut seeded_rng(SEED, Stream::Init))?;
    let mut trainer = Trainer::new(Sgd::article());
    let mut order = seeded_rng(SEED, Stream::Sampling);
    for iter in 1..=ITERS {
        let (x, y) = pool.sample(order.random_range(0..pool.len()));
        let stats = trainer.step(&mut model, x, y)?;
        if iter % 1_000 == 0 {
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
        "Elman RNN, L = {LENGTH}, {ITERS} iterations: held-out accuracy {:.4}, exact match {:.4}",
        s.per_element, s.exact
    );
    let per_position: Vec<String> = s.per_position.iter().map(|a| format!("{a:.3}")).collect();
    println!("per position: {}", per_position.join(" "));

    let json = serde_json::to_string_pretty(&model.params().to_json())?;
    std::fs::write(&out, json).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("parameters saved to {}", out.display());
    Ok(())
}
