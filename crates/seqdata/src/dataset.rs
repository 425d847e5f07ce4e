//! A data set: inputs and labels of equal-length sequences.

use ndarray::{Array2, ArrayView2};

use crate::{Error, Result};

/// `n` sequences of one length: inputs and `0.0`/`1.0` labels, one sequence
/// per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    x: Array2<f64>,
    y: Array2<f64>,
}

impl Dataset {
    /// A data set from inputs and labels of the same shape `(n, L)`.
    pub fn new(x: Array2<f64>, y: Array2<f64>) -> Result<Self> {
        if x.dim() != y.dim() {
            return Err(Error::ShapeMismatch {
                x_rows: x.nrows(),
                x_cols: x.ncols(),
                y_rows: y.nrows(),
                y_cols: y.ncols(),
            });
        }
        // Standard (row-major, contiguous) layout, so rows are slices.
        Ok(Self {
            x: x.as_standard_layout().into_owned(),
            y: y.as_standard_layout().into_owned(),
        })
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Whether the set holds no sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence length.
    pub fn length(&self) -> usize {
        self.x.ncols()
    }

    /// All inputs, `(n, L)`.
    pub fn inputs(&self) -> ArrayView2<'_, f64> {
        self.x.view()
    }

    /// All labels, `(n, L)`, as `0.0` / `1.0`.
    pub fn labels(&self) -> ArrayView2<'_, f64> {
        self.y.view()
    }

    /// Sequence `i` as contiguous slices `(x, y)`.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn sample(&self, i: usize) -> (&[f64], &[f64]) {
        let l = self.length();
        let xs = self.x.as_slice().expect("standard layout");
        let ys = self.y.as_slice().expect("standard layout");
        (&xs[i * l..(i + 1) * l], &ys[i * l..(i + 1) * l])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rejects_mismatched_shapes() {
        let e = Dataset::new(Array2::zeros((2, 3)), Array2::zeros((2, 4))).unwrap_err();
        assert!(e.to_string().contains("2x3"), "{e}");
    }

    #[test]
    fn samples() {
        let d = Dataset::new(
            array![[0.1, 0.2], [0.3, 0.9]],
            array![[1.0, 0.0], [1.0, 1.0]],
        )
        .unwrap();
        assert_eq!(d.sample(1), (&[0.3, 0.9][..], &[1.0, 1.0][..]));
        assert_eq!((d.len(), d.length(), d.is_empty()), (2, 2, false));
    }
}
