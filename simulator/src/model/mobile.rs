//! Deterministic mobile numbers: the one generator behind the catalogue's numbers, the server's
//! `fresh` mobiles and any test that needs many distinct numbers.
//!
//! Hand-written on purpose: [`SplitMix64`] is eight lines, and a library RNG may change its stream
//! between versions, which would change every fixture's bytes. The numbers must stay stable across
//! platforms and crate upgrades.

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 generator (Steele, Lea, Flood 2014): tiny, portable, with a fixed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub(crate) const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from the FNV-1a hash of `text`, so a scenario id always yields the
    /// same numbers.
    pub(crate) fn from_text(text: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Self(h)
    }

    /// The `i`-th value (from 0) of the stream that starts at `seed`, without stepping through
    /// the ones before it: `SplitMix64::nth(s, i)` is the `i + 1`-th `next_u64()` of
    /// `SplitMix64::new(s)`.
    pub(crate) const fn nth(seed: u64, i: u64) -> u64 {
        Self(seed.wrapping_add(i.wrapping_mul(GAMMA))).next_u64()
    }

    /// The next 64-bit value.
    pub(crate) const fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next_u64() % 10) as u8))
            .collect()
    }

    /// An 11-digit mainland number: `1`, a digit 3-9, nine digits.
    pub(crate) fn mainland(&mut self) -> String {
        let second = char::from(b'3' + (self.next_u64() % 7) as u8);
        format!("1{second}{}", self.digits(9))
    }

    /// An overseas number `cc-number`, as Alipay writes it (e.g. `1-1234432112`).
    pub(crate) fn overseas(&mut self) -> String {
        const CODES: [(&str, usize); 5] =
            [("1", 10), ("44", 10), ("81", 10), ("852", 8), ("65", 8)];
        let (cc, len) = CODES[(self.next_u64() % CODES.len() as u64) as usize];
        format!("{cc}-{}", self.digits(len))
    }
}

/// How many distinct mainland numbers `1[3-9]xxxxxxxxx` exist: 7 x 10^9.
pub(crate) const MAINLAND_SPACE: u64 = 7_000_000_000;

/// The `n`-th index of `seed`'s permutation of `0..MAINLAND_SPACE`: an affine bijection of `n`
/// with a multiplier and offset derived from the seed, so the same seed gives the same sequence
/// and no index repeats within the first 7 x 10^9 draws.
pub(crate) fn permuted_index(seed: u64, n: u64) -> u64 {
    let offset = SplitMix64::new(seed).next_u64() % MAINLAND_SPACE;
    // A multiplier coprime with 7 x 10^9 = 2^9 x 5^9 x 7 makes the map a bijection.
    let mut mul = SplitMix64::new(seed ^ 0x0005_eed0_fa11_9a7e).next_u64() % MAINLAND_SPACE;
    while mul.is_multiple_of(2) || mul.is_multiple_of(5) || mul.is_multiple_of(7) {
        mul = (mul + 1) % MAINLAND_SPACE;
    }
    let x = (n % MAINLAND_SPACE + offset) % MAINLAND_SPACE;
    ((u128::from(mul) * u128::from(x)) % u128::from(MAINLAND_SPACE)) as u64
}

/// The mainland number `1[3-9]xxxxxxxxx` with index `idx` (below [`MAINLAND_SPACE`]): distinct
/// indices give distinct numbers.
pub(crate) fn mainland_number(idx: u64) -> String {
    let idx = idx % MAINLAND_SPACE;
    format!("1{}{:09}", 3 + idx / 1_000_000_000, idx % 1_000_000_000)
}

/// The `n`-th generated mainland mobile of the sequence of `seed`:
/// `mainland_number(permuted_index(seed, n))`. No number repeats within the first 7 x 10^9.
pub fn generated_mobile(seed: u64, n: u64) -> String {
    mainland_number(permuted_index(seed, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_shapes() {
        let a = SplitMix64::from_text("x").mainland();
        assert_eq!(a, SplitMix64::from_text("x").mainland());
        assert_ne!(a, SplitMix64::from_text("y").mainland());
        assert_eq!(a.len(), 11);
        assert!(a.starts_with('1'));
        let o = SplitMix64::from_text("x").overseas();
        assert!(o.contains('-'), "{o}");
    }

    #[test]
    fn generated_mobiles_are_the_published_sequence() {
        // Values of the server's generator before it moved here: seeds users recorded must keep
        // giving the same numbers.
        for (seed, n, want) in [
            (0, 0, "17752622765"),
            (0, 1, "15534019344"),
            (42, 7, "13117284140"),
            (u64::MAX, 123_456_789, "16337268575"),
        ] {
            assert_eq!(generated_mobile(seed, n), want, "seed {seed} n {n}");
        }
        let distinct: std::collections::BTreeSet<String> =
            (0..2000).map(|n| generated_mobile(7, n)).collect();
        assert_eq!(distinct.len(), 2000);
        assert!(distinct.iter().all(|m| m.len() == 11 && m.starts_with('1')));
    }
}
