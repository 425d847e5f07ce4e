//! Properties every registered model kind must have, run over
//! [`models::ModelKind::all`]: a new row of the registry is tested here
//! without further edits.

use models::ModelKind;
use nncore::{Precision, SequenceModel, check_gradients};
use seqdata::{AlternatingSign, Stream, seeded_rng};

/// A model of `kind` in `precision`, moved off its initial point (so that
/// every parameter, biases included, gets a generic gradient).
fn model_in(
    kind: ModelKind,
    hidden: usize,
    length: usize,
    seed: u64,
    precision: Precision,
) -> Box<dyn SequenceModel> {
    let mut m = kind
        .build(
            hidden,
            length,
            precision,
            &mut seeded_rng(seed, Stream::Init),
        )
        .unwrap();
    let moved: Vec<f64> = (m.params().values_f64().iter().enumerate())
        .map(|(i, v)| v + 0.02 * ((i % 5) as f64 - 2.0))
        .collect();
    m.params_mut().set_values_f64(&moved);
    m
}

/// [`model_in`] in `f64`.
fn model(kind: ModelKind, hidden: usize, length: usize, seed: u64) -> Box<dyn SequenceModel> {
    model_in(kind, hidden, length, seed, Precision::F64)
}

/// One sequence of the task.
fn sample(length: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let data = AlternatingSign::new(length)
        .unwrap()
        .heldout(1, seed)
        .unwrap();
    let (x, y) = data.sample(0);
    (x.to_vec(), y.to_vec())
}

/// The f32 gradients are the f64 gradients, to f32's precision: an f32
/// model and its f64 twin holding the same numbers (the f32 ones, exactly)
/// give gradients within 1e-4 of each block's largest entry, at L = 1, 2,
/// 8 and 32 (measured: about 1e-6).
#[test]
fn f32_gradients_match_the_f64_gradients() {
    for kind in ModelKind::all() {
        for (length, seed) in [(1, 1), (2, 2), (8, 3), (32, 4)] {
            let mut m32 = model_in(kind, 12, length, seed, Precision::F32);
            assert_eq!(m32.precision(), Precision::F32);
            let mut m64 = kind
                .load(12, length, Precision::F64, &m32.params().to_json())
                .unwrap();
            let (x, y) = sample(length, seed);
            let (l32, l64) = (
                m32.loss_and_grad(&x, &y).unwrap(),
                m64.loss_and_grad(&x, &y).unwrap(),
            );
            assert!(
                (l32 - l64).abs() <= 1e-5 * l64.abs().max(1.0),
                "{kind}: {l32} vs {l64}"
            );
            let mut worst = 0.0f64;
            for (i, spec) in m64.params().specs().iter().enumerate() {
                let (g32, g64) = (m32.params().grad_f64(i), m64.params().grad_f64(i));
                let scale = g64.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                if scale == 0.0 {
                    assert!(g32.iter().all(|&v| v == 0.0), "{kind} {}", spec.name);
                    continue;
                }
                let err = g32
                    .iter()
                    .zip(&g64)
                    .fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
                worst = worst.max(err / scale);
            }
            eprintln!("{kind} L = {length}: f32 vs f64 gradients {worst:.2e}");
            assert!(worst <= 1e-4, "{kind} L = {length}: {worst:.3e}");
        }
    }
}

/// Finite differences in f32 itself, on every parameter entry at L = 1,
/// 2, 8 and 32: steps of 1e-3 (f32 losses carry ~1e-7 relative noise), so
/// the stated tolerance is 5e-2 of each block's largest entry plus 5e-5,
/// the noise floor of an f32 difference quotient at this step. Measured:
/// absolute errors of about 1e-5 in every block of every kind; relative
/// ones of at most 7e-3 for the smooth cells, and up to 4.1e-2 for the
/// ReLU cells, whose kinks fall inside some steps (Le et al.'s IRNN at L =
/// 32, where its small weights put many units near 0). The floor matters
/// only for a block whose gradient is itself tiny, as that IRNN's `W` at L
/// = 2, 2e-4. The f32 gradients are held to 1e-4 of the f64 ones above;
/// this test checks them against f32's own arithmetic.
#[test]
fn f32_gradients_match_finite_differences() {
    for kind in ModelKind::all() {
        for (length, seed) in [(1, 1), (2, 2), (8, 3), (32, 4)] {
            let mut m = model_in(kind, 12, length, seed, Precision::F32);
            let (x, y) = sample(length, seed);
            let check = check_gradients(m.as_mut(), &x, &y, 1e-3).unwrap();
            eprintln!(
                "{kind} f32 L = {length}: max relative error {:.2e}",
                check.max_rel_err()
            );
            for p in &check.params {
                assert!(
                    p.abs_err <= 5e-2 * p.scale + 5e-5,
                    "{kind} f32 L = {length}, {}: {:.3e} of {:.3e}\n{check}",
                    p.name,
                    p.abs_err,
                    p.scale
                );
            }
        }
    }
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

/// `predict_batch` gives what `forward` gives, one sequence at a time, in
/// both precisions.
#[test]
fn batch_prediction_matches_one_at_a_time() {
    for (kind, precision) in ModelKind::all().flat_map(|k| Precision::ALL.map(|p| (k, p))) {
        let mut m = model_in(kind, 9, 6, 5, precision);
        let tol = match precision {
            Precision::F64 => 1e-12,
            Precision::F32 => 1e-6,
        };
        let data = AlternatingSign::new(6).unwrap().heldout(7, 3).unwrap();
        let batch = m.predict_batch(data.inputs()).unwrap();
        for i in 0..data.len() {
            let single = m.forward(data.sample(i).0).unwrap().to_vec();
            for (a, b) in batch.row(i).iter().zip(&single) {
                assert!(
                    (a - b).abs() < tol,
                    "{kind} {precision} row {i}: {a} vs {b}"
                );
            }
        }
    }
}

/// Building twice from one seed gives the same bits; the kind, the hidden
/// size and the parameter count are what the registry says.
/// The registry's PyTorch layout of each kind holds every parameter block
/// once: each block by exactly one tensor that carries it (same or
/// transposed), an extra bias only beside one, names unique, the hidden
/// size read from a tensor of the layout, and export → import the same
/// bits (`models::torch`).
#[test]
fn torch_layouts_cover_every_parameter_once() {
    use models::torch::TorchMap;
    for kind in ModelKind::all() {
        let layout = &kind.info().torch;
        let m = model(kind, 3, 4, 5);
        let specs = m.params().specs();
        for s in specs {
            let holders: Vec<_> = layout
                .tensors
                .iter()
                .filter(|t| t.param == s.name && t.map != TorchMap::ExtraBias)
                .collect();
            assert_eq!(holders.len(), 1, "{kind}: `{}` held by {holders:?}", s.name);
        }
        for t in layout.tensors {
            assert!(
                specs.iter().any(|s| s.name == t.param),
                "{kind}: `{}` maps to `{}`, not a parameter",
                t.name,
                t.param
            );
            if t.map == TorchMap::ExtraBias {
                let spec = specs.iter().find(|s| s.name == t.param).unwrap();
                assert_eq!(spec.shape.len(), 1, "{kind}: an extra bias of a matrix");
            }
            let same_name = layout.tensors.iter().filter(|u| u.name == t.name).count();
            assert_eq!(same_name, 1, "{kind}: `{}` twice", t.name);
        }
        assert!(
            layout
                .tensors
                .iter()
                .any(|t| t.name == layout.hidden_from.0),
            "{kind}"
        );
        assert!(!layout.modules.is_empty());
    }
}

#[test]
fn builds_are_reproducible_and_match_the_registry() {
    for kind in ModelKind::all() {
        let f64 = Precision::F64;
        let a = kind
            .build(7, 5, f64, &mut seeded_rng(3, Stream::Init))
            .unwrap();
        let b = kind
            .build(7, 5, f64, &mut seeded_rng(3, Stream::Init))
            .unwrap();
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
        let back = kind.from_json(&a.params().to_json(), f64).unwrap();
        assert_eq!(back.params().values(), a.params().values(), "{kind}");
        assert_eq!(back.kind(), kind.name());
        // In f32: the same draws, rounded, and the JSON round trip is exact.
        let c = kind
            .build(7, 5, Precision::F32, &mut seeded_rng(3, Stream::Init))
            .unwrap();
        assert_eq!(c.precision(), Precision::F32);
        let rounded: Vec<f64> = a
            .params()
            .values()
            .iter()
            .map(|&v| v as f32 as f64)
            .collect();
        assert_eq!(c.params().values_f64(), rounded, "{kind}");
        let back = kind
            .from_json(&c.params().to_json(), Precision::F32)
            .unwrap();
        assert_eq!(back.params(), c.params(), "{kind}");
    }
}

mod grads_inputs {
    //! The proptest version of the fuzz target `grads_inputs`: the
    //! parameter file of `cargo xtask grads`, for every kind, mutated at
    //! one place; a model that loads computes a gradient or refuses.
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<f64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::from("NaN")),
            Just(serde_json::json!([])),
            Just(serde_json::json!([[1.0, 2.0], [3.0]])),
            Just(serde_json::json!({})),
        ]
    }

    /// Replaces the value reached by `path` (indices into objects and
    /// arrays, taken modulo their sizes) by `with`.
    fn mutate(v: &mut Value, path: &[usize], with: Value) {
        let Some((&i, rest)) = path.split_first() else {
            *v = with;
            return;
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                let k = m.keys().nth(i % m.len()).unwrap().clone();
                mutate(m.get_mut(&k).unwrap(), rest, with);
            }
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                mutate(&mut a[i % n], rest, with);
            }
            _ => *v = with,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn mutated_parameter_files_compute_or_refuse(
            kind in (0..models::KINDS.len()).prop_map(|i| ModelKind::all().nth(i).unwrap()),
            path in prop::collection::vec(any::<usize>(), 0..4),
            with in leaf(),
        ) {
            let mut params = model(kind, 3, 4, 0).params().to_json();
            mutate(&mut params, &path, with);
            if let Ok(mut m) = kind.from_json(&params, Precision::F64) {
                let r = m.loss_and_grad(&[0.3, -0.2, 0.9, 0.1], &[1.0, 0.0, 1.0, 1.0]);
                // The dnn takes only its own length; any recurrent kind takes any.
                prop_assert!(r.is_ok() || kind.name() == "dnn");
            }
        }
    }
}
