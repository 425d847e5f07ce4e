//! The task itself: drawing sequences, training pools and held-out sets.

use ndarray::Array2;
use rand::Rng;

use crate::{Dataset, Error, Result, Stream, label_into, seeded_rng};

/// Sequences in a training pool (docs/SPEC.md §1).
pub const POOL_SIZE: usize = 50_000;

/// The longest sequence accepted (2^20).
pub const MAX_LENGTH: usize = 1 << 20;

/// The most numbers (sequences × length) one data set may hold: 2^28 inputs
/// plus as many labels is 4 GiB of `f64`, about the most a 24 GiB machine
/// should be asked for in one go.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The alternating-sign task at one sequence length.
///
/// ```
/// use seqdata::{AlternatingSign, Stream, seeded_rng};
/// let task = AlternatingSign::new(4)?;
/// let mut rng = seeded_rng(1, Stream::Other);
/// let data = task.generate(10, &mut rng)?;
/// assert_eq!(data.inputs().dim(), (10, 4));
/// # Ok::<(), seqdata::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlternatingSign {
    length: usize,
}

impl AlternatingSign {
    /// The task at `length` (1 ..= [`MAX_LENGTH`]).
    pub fn new(length: usize) -> Result<Self> {
        if length == 0 || length > MAX_LENGTH {
            return Err(Error::BadLength {
                length,
                max: MAX_LENGTH,
            });
        }
        Ok(Self { length })
    }

    /// The sequence length.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Checks that `count` sequences fit the limits, before anything is allocated.
    pub fn check_count(&self, count: usize) -> Result<()> {
        let too_many = count
            .checked_mul(self.length)
            .is_none_or(|n| n > MAX_ELEMENTS);
        if count == 0 || too_many {
            return Err(Error::BadCount {
                count,
                length: self.length,
                max_elements: MAX_ELEMENTS,
            });
        }
        Ok(())
    }

    /// Draws one sequence into `x` (uniform on `[0, 1)`, left to right) and
    /// its labels into `y`.
    ///
    /// # Panics
    /// If `x` or `y` is not `length` long.
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, x: &mut [f64], y: &mut [f64]) {
        assert_eq!(x.len(), self.length, "sample_into: x has the wrong length");
        for v in x.iter_mut() {
            *v = rng.random::<f64>();
        }
        label_into(x, y);
    }

    /// `count` fresh sequences drawn from `rng`, one after another.
    pub fn generate<R: Rng + ?Sized>(&self, count: usize, rng: &mut R) -> Result<Dataset> {
        self.check_count(count)?;
        let mut x = Array2::<f64>::zeros((count, self.length));
        let mut y = Array2::<f64>::zeros((count, self.length));
        for (mut xr, mut yr) in x.rows_mut().into_iter().zip(y.rows_mut()) {
            let xs = xr
                .as_slice_mut()
                .expect("rows of a standard array are contiguous");
            let ys = yr
                .as_slice_mut()
                .expect("rows of a standard array are contiguous");
            self.sample_into(rng, xs, ys);
        }
        Dataset::new(x, y)
    }

    /// The training pool of [`POOL_SIZE`] sequences for a training seed
    /// (stream [`Stream::Pool`]).
    pub fn training_pool(&self, seed: u64) -> Result<Dataset> {
        self.generate(POOL_SIZE, &mut seeded_rng(seed, Stream::Pool))
    }

    /// The held-out set: `count` sequences from their own seed (stream
    /// [`Stream::Heldout`]), never trained on. Pass
    /// [`crate::DEFAULT_HELDOUT_SEED`] to get the set every study uses.
    pub fn heldout(&self, count: usize, seed: u64) -> Result<Dataset> {
        self.generate(count, &mut seeded_rng(seed, Stream::Heldout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_validated() {
        assert!(matches!(
            AlternatingSign::new(0),
            Err(Error::BadLength { length: 0, .. })
        ));
        assert!(AlternatingSign::new(MAX_LENGTH + 1).is_err());
        assert_eq!(AlternatingSign::new(32).unwrap().length(), 32);
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let task = AlternatingSign::new(1024).unwrap();
        let err = task.heldout(usize::MAX / 2, 0).unwrap_err();
        assert!(matches!(err, Error::BadCount { .. }), "{err}");
        assert!(err.to_string().contains("at most"));
        assert!(task.heldout(0, 0).is_err());
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let task = AlternatingSign::new(16).unwrap();
        let a = task.training_pool(3).unwrap();
        let b = task.training_pool(3).unwrap();
        let c = task.training_pool(4).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.inputs(), c.inputs());
        // The held-out set is a different stream from the pool of the same seed.
        let h = task.heldout(100, 3).unwrap();
        assert_ne!(h.inputs().row(0), a.inputs().row(0));
    }

    #[test]
    fn inputs_are_in_the_unit_interval_and_labels_follow_the_rule() {
        let task = AlternatingSign::new(8).unwrap();
        let d = task.heldout(500, 9).unwrap();
        assert!(d.inputs().iter().all(|&v| (0.0..1.0).contains(&v)));
        for (x, y) in d.inputs().rows().into_iter().zip(d.labels().rows()) {
            let expect: Vec<f64> = crate::labels(x.as_slice().unwrap())
                .into_iter()
                .map(f64::from)
                .collect();
            assert_eq!(y.to_vec(), expect);
            assert_eq!(y[0], 1.0);
        }
    }

    /// The generator is pinned: ChaCha8 seed 0 on the pool stream, read by
    /// `rand` 0.9's `random::<f64>()`. If this fails, every recorded seed in
    /// every report would replay differently: that must be a conscious change.
    #[test]
    fn generator_output_is_pinned() {
        let task = AlternatingSign::new(4).unwrap();
        let d = task.generate(2, &mut seeded_rng(0, Stream::Pool)).unwrap();
        let got: Vec<f64> = d.inputs().iter().copied().collect();
        assert_eq!(got, PINNED_SEED0_POOL.to_vec());
        let labels: Vec<f64> = d.labels().iter().copied().collect();
        let expect: Vec<f64> = got
            .chunks(4)
            .flat_map(|x| crate::labels(x).into_iter().map(f64::from))
            .collect();
        assert_eq!(labels, expect);
    }

    const PINNED_SEED0_POOL: [f64; 8] = [
        0.755531016687046,
        0.7381167640990809,
        0.5899972116915172,
        0.9115513360776107,
        0.4603428503994679,
        0.7862396250988501,
        0.18982849015269265,
        0.025317604836929908,
    ];
}
