/// A symmetric linear operator known only through its action on vectors:
/// a Hessian-vector product, a dense matrix, a quadratic's Hessian.
pub trait SymmetricOperator {
    type Error: std::fmt::Debug + std::fmt::Display;
    fn dim(&self) -> usize;
    /// out = A x. `out` has length `dim()` and may hold garbage on entry.
    fn apply(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), Self::Error>;
}

/// A dense symmetric matrix in row-major order (for tests and small problems).
#[derive(Debug, Clone)]
pub struct DenseSymmetric {
    n: usize,
    data: Vec<f64>,
}

impl DenseSymmetric {
    /// Build from row-major data; panics if not square (programming error).
    pub fn from_row_major(n: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), n * n, "DenseSymmetric needs n*n entries");
        DenseSymmetric { n, data }
    }

    pub fn diagonal(d: &[f64]) -> Self {
        let n = d.len();
        let mut data = vec![0.0; n * n];
        for (i, x) in d.iter().enumerate() {
            data[i * n + i] = *x;
        }
        DenseSymmetric { n, data }
    }

    /// Q diag(eigenvalues) Q^T for an orthogonal Q given by its columns
    /// (row-major n x n): a matrix with a known spectrum.
    pub fn with_spectrum(eigenvalues: &[f64], q: &[f64]) -> Self {
        let n = eigenvalues.len();
        assert_eq!(q.len(), n * n);
        let mut data = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                data[i * n + j] = (0..n).map(|k| q[i * n + k] * eigenvalues[k] * q[j * n + k]).sum();
            }
        }
        DenseSymmetric { n, data }
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.n + j]
    }
}

impl SymmetricOperator for DenseSymmetric {
    type Error = std::convert::Infallible;
    fn dim(&self) -> usize {
        self.n
    }
    fn apply(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), Self::Error> {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.data[i * self.n..(i + 1) * self.n].iter().zip(x).map(|(a, b)| a * b).sum();
        }
        Ok(())
    }
}

/// A diagonal matrix stored as its diagonal: any size (no n x n storage), and
/// its eigenvalues are the entries, so a Lanczos run on it has a known answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagonal(pub Vec<f64>);

impl SymmetricOperator for Diagonal {
    type Error = std::convert::Infallible;
    fn dim(&self) -> usize {
        self.0.len()
    }
    fn apply(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), Self::Error> {
        for ((o, d), x) in out.iter_mut().zip(&self.0).zip(x) {
            *o = d * x;
        }
        Ok(())
    }
}
