//! Properties every registered model kind must have, run over
//! [`models::ModelKind::all`]: a new row of the registry is tested here
//! without further edits.

use models::ModelKind;
use nncore::{SequenceModel, check_gradients};
use seqdata::{AlternatingSign, Stream, seeded_rng};

/// A model of `kind` moved off its initial point (so that every parameter,
/// biases included, gets a generic gradient).
fn model(kind: ModelKind, hidden: usize, length: usize, seed: u64) -> Box<dyn SequenceModel> {
    let mut m = kind
        .build(hidden, length, &mut seeded_rng(seed, Stream::Init))
        .unwrap();
    m.params_mut()
        .values_mut()
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v += 0.02 * ((i % 5) as f64 - 2.0));
    m
}

/// Finite differences on every parameter entry at L = 1, 2, 8 and 32.
#[test]
fn gradients_match_finite_differences_at_every_length() {
    for kind in ModelKind::all() {
        for (length, seed) in [(1, 1), (2, 2), (8, 3), (32, 4)] {
            let mut m = model(kind, 12, length, seed);
            let data = AlternatingSign::new(length)
                .unwrap()
                .heldout(1, seed)
                .unwrap();
            let (x, y) = data.sample(0);
            let check = check_gradients(m.as_mut(), x, y, 1e-6).unwrap();
            eprintln!(
                "{kind} L = {length}: max relative error {:.2e}",
                check.max_rel_err()
            );
            assert!(
                check.max_rel_err() <= 1e-6,
                "{kind} L = {length}: {:.3e}\n{check}",
                check.max_rel_err()
            );
        }
    }
}

/// `predict_batch` gives what `forward` gives, one sequence at a time.
#[test]
fn batch_prediction_matches_one_at_a_time() {
    for kind in ModelKind::all() {
        let mut m = model(kind, 9, 6, 5);
        let data = AlternatingSign::new(6).unwrap().heldout(7, 3).unwrap();
        let batch = m.predict_batch(data.inputs()).unwrap();
        for i in 0..data.len() {
            let single = m.forward(data.sample(i).0).unwrap().to_vec();
            for (a, b) in batch.row(i).iter().zip(&single) {
                assert!((a - b).abs() < 1e-12, "{kind} row {i}: {a} vs {b}");
            }
        }
    }
}

/// Building twice from one seed gives the same bits; the kind, the hidden
/// size and the parameter count are what the registry says.
#[test]
fn builds_are_reproducible_and_match_the_registry() {
    for kind in ModelKind::all() {
        let a = kind.build(7, 5, &mut seeded_rng(3, Stream::Init)).unwrap();
        let b = kind.build(7, 5, &mut seeded_rng(3, Stream::Init)).unwrap();
        assert_eq!(a.params(), b.params(), "{kind}");
        assert_eq!(a.kind(), kind.name());
        assert_eq!(a.hidden(), 7, "{kind}");
        assert_eq!(
            a.params().len(),
            (kind.info().param_count)(7, 5),
            "{kind}: the registry's param_count is wrong"
        );
        assert_eq!(
            a.recurrent_weights().is_some(),
            kind.info().recurrent,
            "{kind}"
        );
        // Bare parameter JSON reads back to the same model.
        let back = kind.from_json(&a.params().to_json()).unwrap();
        assert_eq!(back.params().values(), a.params().values(), "{kind}");
        assert_eq!(back.kind(), kind.name());
    }
}
