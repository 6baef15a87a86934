//! Generated mainland mobiles, reproducible from a seed (`PUT /__admin/seed`).

use std::sync::Mutex;

/// Generated mainland mobiles, reproducible from a seed.
///
/// The n-th number is an affine bijection of `n` over the 7 x 10^9 numbers `1[3-9]xxxxxxxxx`, with
/// a multiplier and offset derived from the seed: the same seed gives the same sequence, and no
/// number repeats within the first 7 x 10^9 draws.
#[derive(Debug)]
pub(crate) struct MobileGenerator {
    inner: Mutex<(u64, u64)>,
}

use crate::model::mobile::generated_mobile;

impl MobileGenerator {
    /// A generator at the start of `seed`'s sequence.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            inner: Mutex::new((seed, 0)),
        }
    }

    /// The next number.
    pub(crate) fn draw(&self) -> String {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let n = g.1;
        g.1 += 1;
        generated_mobile(g.0, n)
    }

    /// Restarts the sequence of `seed`.
    pub(crate) fn reseed(&self, seed: u64) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = (seed, 0);
    }

    /// The seed and the number of draws so far.
    pub(crate) fn status(&self) -> (u64, u64) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The default seed of generated mobiles.
pub(crate) const DEFAULT_SEED: u64 = 0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_mobiles_are_mainland_reproducible_and_distinct() {
        let a: Vec<String> = (0..2000).map(|n| generated_mobile(7, n)).collect();
        let b: Vec<String> = (0..2000).map(|n| generated_mobile(7, n)).collect();
        assert_eq!(a, b);
        assert_ne!(a[0], generated_mobile(8, 0));
        let set: std::collections::HashSet<_> = a.iter().collect();
        assert_eq!(set.len(), a.len());
        for m in &a {
            assert_eq!(m.len(), 11, "{m}");
            assert!(
                m.starts_with('1') && (b'3'..=b'9').contains(&m.as_bytes()[1]),
                "{m}"
            );
            assert!(m.bytes().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn the_generator_restarts_on_reseed() {
        let g = MobileGenerator::new(3);
        let first = g.draw();
        assert_ne!(first, g.draw());
        g.reseed(3);
        assert_eq!(first, g.draw());
        assert_eq!(g.status(), (3, 1));
    }
}
