//! The windowed maximum of BBR's bandwidth samples (draft-ietf-ccwg-bbr-01 §4.5.2.3):
//! the largest sample of the current and the previous ProbeBW cycle
//! (`MaxBwFilterLen` = 2 cycles), kept as Linux's `bw_hi[2]`.

/// A maximum over the current and the previous window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct MaxFilter {
    /// `[previous window, current window]`.
    slots: [u64; 2],
}

impl MaxFilter {
    /// A sample in the current window.
    pub(super) fn update(&mut self, v: u64) {
        self.slots[1] = self.slots[1].max(v);
    }

    /// §4.5.2.3 `BBRAdvanceMaxBwFilter`: the current window becomes the previous one.
    pub(super) fn advance(&mut self) {
        if self.slots[1] == 0 {
            // Nothing sampled this cycle: keep what there is.
            return;
        }
        self.slots[0] = self.slots[1];
        self.slots[1] = 0;
    }

    /// The windowed maximum.
    pub(super) fn get(&self) -> u64 {
        self.slots[0].max(self.slots[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_lives_for_two_windows() {
        let mut f = MaxFilter::default();
        f.update(100);
        f.update(50);
        assert_eq!(f.get(), 100);
        f.advance();
        f.update(60);
        assert_eq!(f.get(), 100, "still in the previous window");
        f.advance();
        assert_eq!(f.get(), 60, "100 aged out after two windows");
    }
}
