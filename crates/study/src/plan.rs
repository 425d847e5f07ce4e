//! The study's deterministic job plan: every (variant, length, seed), in
//! one fixed order, with the registry's cost model to schedule them.

use crate::config::{Study, Variant};

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

    /// `<variant>_L<length>_seed<seed>.json`: the run's file in `runs/`.
    pub fn file_name(&self) -> String {
        crate::report::run_file_name(&self.variant.label(), self.length, self.seed)
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
