//! Trains one model of any registered kind with the library alone, prints
//! its held-out curve, saves it as a model file that `cargo xtask eval`
//! reads, loads it back and checks that it scores the same.
//!
//! ```sh
//! cargo run --release -p models --example train                  # rnn at L = 8
//! cargo run --release -p models --example train -- lstm 32 adam  # any kind, length, optimiser
//! cargo xtask eval --load /tmp/rnnstudy_rnn_L8.json              # the saved file
//! ```

use models::{ModelFile, ModelKind, Training};
use nncore::{
    CurvePoint, Observer, OptimizerKind, OptimizerSpec, Precision, Schedule, Trainer, evaluate, fit,
};
use seqdata::{AlternatingSign, DEFAULT_HELDOUT_SEED, Stream, seeded_rng};

/// Prints each evaluation as it happens.
struct Print;

impl Observer for Print {
    fn evaluated(&mut self, p: &CurvePoint) {
        println!("iter {:>5}: held-out accuracy {:.4}", p.iter, p.heldout_acc);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind: ModelKind = args.first().map_or("rnn", String::as_str).parse()?;
    let length: usize = args.get(1).map_or(Ok(8), |l| l.parse())?;
    let mut spec = kind.info().article;
    if let Some(o) = args.get(2) {
        // Adam at 0.01 for both groups: the gated cells learn with it.
        let optimizer: OptimizerKind = o.parse()?;
        spec = OptimizerSpec {
            optimizer,
            lr_io: 0.01,
            lr_rec: 0.01,
        };
    }
    let seed = 0;

    let task = AlternatingSign::new(length)?;
    let pool = task.training_pool(seed)?;
    let heldout = task.heldout(2_000, DEFAULT_HELDOUT_SEED)?;
    let mut model = kind.build(
        100,
        length,
        Precision::F64,
        &mut seeded_rng(seed, Stream::Init),
    )?;
    let mut trainer = Trainer::new(spec.build()?);
    let schedule = Schedule {
        iters: 5_000,
        eval_every: 1_000,
        ..Schedule::default()
    };
    let mut order = seeded_rng(seed, Stream::Sampling);
    let out = fit(
        model.as_mut(),
        &mut trainer,
        &pool,
        &mut order,
        &heldout,
        &schedule,
        &mut Print,
    )?;

    let training = Training::new(
        seed,
        out.iters,
        spec,
        None,
        pool.len(),
        &heldout,
        DEFAULT_HELDOUT_SEED,
        &schedule,
    );
    let file = ModelFile::new(model.as_ref(), kind, length, training, out.final_metrics)?;
    let path = std::env::temp_dir().join(format!("rnnstudy_{kind}_L{length}.json"));
    file.save(&path)?;
    let (back, loaded) = ModelFile::load(&path)?;
    assert_eq!(
        evaluate(loaded.as_ref(), &back.heldout_set()?)?,
        file.metrics
    );
    println!(
        "{}\nsaved to {} (reloaded: same metrics)",
        file.describe(),
        path.display()
    );
    Ok(())
}
