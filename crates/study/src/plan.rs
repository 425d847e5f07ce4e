//! The study's deterministic job plan: every (variant, length, seed), in
//! one fixed order, with the registry's cost model to schedule them.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{Study, Variant};
use crate::report::{RunInputs, arithmetic_version};

/// One run of a study.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// Model and how it is trained.
    pub variant: Variant,
    /// Sequence length.
    pub length: usize,
    /// Training seed.
    pub seed: u64,
}

impl Job {
    /// Multiply-adds of the run's training, from the registry's cost model.
    pub fn cost(&self, iters: usize) -> f64 {
        let per_iter = (self.variant.model.info().train_macs)(self.variant.hidden, self.length);
        per_iter as f64 * iters as f64
    }

    /// What `study` asks of this run beyond its variant, length and seed.
    pub fn inputs(&self, study: &Study) -> RunInputs {
        RunInputs {
            iters: study.schedule.iters,
            eval_every: study.schedule.eval_every,
            grad_flow_batch: study.schedule.grad_flow_batch,
            heldout: study.heldout,
            heldout_seed: study.heldout_seed,
            pool_size: study.pool_size,
            arithmetic: arithmetic_version(self.variant.precision),
        }
    }

    /// The run's fingerprint: the first 128 bits, in hex, of the SHA-256 of
    /// what determines its numbers, as JSON: the variant (model, hidden,
    /// optimiser, rates, clipping), length, seed, the study's
    /// [`inputs`](Self::inputs) (schedule, held-out set, pool, and the
    /// version of the arithmetic, which a change to the training code must
    /// raise) and the build that trains it ([`build_id`](crate::build_id):
    /// architecture, OS, C library, vector features). Any change to one of
    /// them changes it.
    ///
    /// ```
    /// let study = study::Study::article();
    /// let jobs = study.jobs();
    /// let f = jobs[0].fingerprint(&study, "x86_64");
    /// assert_eq!(f.len(), 32);
    /// assert_ne!(f, jobs[1].fingerprint(&study, "x86_64"));
    /// assert_ne!(f, jobs[0].fingerprint(&study, "x86_64+avx2"));
    /// ```
    pub fn fingerprint(&self, study: &Study, build: &str) -> String {
        #[derive(Serialize)]
        struct Key<'a> {
            variant: Variant,
            length: usize,
            seed: u64,
            inputs: RunInputs,
            build: &'a str,
        }
        let key = Key {
            variant: self.variant,
            length: self.length,
            seed: self.seed,
            inputs: self.inputs(study),
            build,
        };
        let json = serde_json::to_vec(&key).expect("a run key serialises");
        let digest = Sha256::digest(&json);
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `<variant>_L<length>_seed<seed>.json`: the run's file in `runs/`.
    pub fn file_name(&self) -> String {
        crate::report::run_file_name(&self.variant.label(), self.length, self.seed)
    }

    /// `<variant>_L<length>_seed<seed>.model.json`: the trained model's file
    /// in `runs/`, beside the run's (`study --save-models`).
    pub fn model_file_name(&self) -> String {
        let run = self.file_name();
        let stem = run.strip_suffix(".json").unwrap_or(&run);
        format!("{stem}.model.json")
    }
}

impl Study {
    /// Every run, variant by variant, then length, then seed: the same plan
    /// on every machine.
    pub fn jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for &variant in &self.variants {
            for &length in &self.lengths {
                for &seed in &self.seeds {
                    jobs.push(Job {
                        variant,
                        length,
                        seed,
                    });
                }
            }
        }
        jobs
    }
}
