//! Shared building blocks for small sequence models on `ndarray`.
//!
//! `nncore` holds what the rnnstudy models have in common, so that each model
//! crate only says what is particular to it:
//!
//! - [`activation`]: sigmoid, tanh, ReLU and their derivatives;
//! - [`loss`]: the article's squared-error loss `E = Σ_t ½ (y_t − label_t)²`;
//! - [`init`]: the article's scaled-normal initialiser `N(0, 1) / √fan_in`;
//! - [`params`]: [`ParamSet`], every parameter of a model in one flat buffer
//!   (with its gradient), named, shaped, grouped by learning rate, and
//!   read/written as JSON;
//! - [`optim`]: plain SGD and Adam, with one learning rate per [`ParamGroup`];
//! - [`clip`]: gradient clipping by global norm;
//! - [`metrics`]: per-element accuracy, exact match, per-position accuracy and
//!   the per-position majority baseline;
//! - [`gradcheck`]: a central finite-difference gradient checker;
//! - [`linalg`] and [`fastmath`]: the allocation-free, vectorisable kernels of
//!   the per-time-step hot loops (blocked matrix-vector products, the
//!   recurrent-weight gradient as one product, a `tanh` within 2 ulp of libm's,
//!   spectral norm by power iteration);
//! - [`model`]: the [`SequenceModel`] trait every model implements,
//!   [`train`]: the one training step that serves them all, and [`fit`]: the
//!   one training loop (sampling, evaluation schedule, divergence stop,
//!   timing);
//! - [`evaluate`](mod@evaluate): chunked held-out evaluation into one
//!   [`Metrics`] type; [`diagnostics`]: gradient flow and spectral norm;
//! - [`OptimizerSpec`]: an optimiser and its rates as one serde value, from
//!   the flag to the update; [`text`]: numbers as people write them.
//!
//! ```
//! use nncore::{ClipNorm, ParamGroup, ParamSet, Sgd, Optimizer};
//!
//! // Two parameters in two learning-rate groups.
//! let mut p = ParamSet::new([("W", vec![2, 2], ParamGroup::Recurrent), ("b", vec![2], ParamGroup::InputOutput)]);
//! p.values_mut().fill(1.0);
//! p.grads_mut().copy_from_slice(&[3.0, 0.0, 0.0, 4.0, 0.0, 0.0]);
//!
//! // Clip the global gradient norm (5) to 1, then one SGD step.
//! let outcome = ClipNorm::new(1.0)?.apply(p.grads_mut());
//! assert_eq!((outcome.norm, outcome.clipped), (5.0, true));
//! Sgd::new(0.1, 0.5)?.step(&mut p);
//! assert!((p.value(0)[0] - (1.0 - 0.5 * 0.6)).abs() < 1e-12);
//! # Ok::<(), nncore::Error>(())
//! ```
#![warn(missing_docs)]

pub mod activation;
pub mod clip;
pub mod diagnostics;
mod error;
pub mod evaluate;
pub mod fastmath;
pub mod fit;
pub mod gradcheck;
pub mod init;
pub mod linalg;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod nullable;
pub mod optim;
pub mod params;
pub mod scalar;
pub mod subnormal;
pub mod text;
pub mod train;

pub use clip::{ClipNorm, ClipOutcome, global_norm};
pub use diagnostics::GradFlow;
pub use error::{Error, Result};
pub use evaluate::{Metrics, evaluate, evaluate_parallel};
pub use fit::{CurvePoint, Observer, Outcome, Schedule, fit};
pub use gradcheck::{GradCheck, ParamCheck, check_gradients};
pub use metrics::{Scores, majority_baseline, majority_per_position, score};
pub use model::SequenceModel;
pub use optim::{Adam, Optimizer, OptimizerKind, OptimizerSpec, Sgd};
pub use params::{ParamGroup, ParamSet, ParamSpec};
pub use scalar::{Buffer, Precision, Scalar};
pub use train::{StepStats, Trainer};
