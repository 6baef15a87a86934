//! Deterministic mobile numbers: the same scenario id always yields the same number.

/// SplitMix64, seeded from the FNV-1a hash of a text: tiny, portable and stable across
/// platforms and crate versions (unlike a library RNG whose stream may change).
pub(crate) struct Numbers(u64);

impl Numbers {
    pub(crate) fn seeded(text: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Self(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }

    /// An 11-digit mainland number: `1`, a digit 3-9, nine digits.
    pub(crate) fn mainland(&mut self) -> String {
        let second = char::from(b'3' + (self.next() % 7) as u8);
        format!("1{second}{}", self.digits(9))
    }

    /// An overseas number `cc-number`, as Alipay writes it (e.g. `1-1234432112`).
    pub(crate) fn overseas(&mut self) -> String {
        const CODES: [(&str, usize); 5] =
            [("1", 10), ("44", 10), ("81", 10), ("852", 8), ("65", 8)];
        let (cc, len) = CODES[(self.next() % CODES.len() as u64) as usize];
        format!("{cc}-{}", self.digits(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_shapes() {
        let a = Numbers::seeded("x").mainland();
        assert_eq!(a, Numbers::seeded("x").mainland());
        assert_ne!(a, Numbers::seeded("y").mainland());
        assert_eq!(a.len(), 11);
        assert!(a.starts_with('1'));
        let o = Numbers::seeded("x").overseas();
        assert!(o.contains('-'), "{o}");
    }
}
