//! A trap S-mode owns, delivered by the SM as if the hart had taken it in
//! S-mode directly (privileged spec 1.12, "Trap entry"; with H, a trap from
//! a virtual mode goes to HS-mode): the new mstatus, and hstatus when the
//! trap came from V-mode. The firmware writes them (`sm_hal::cpu`).

use crate::bits::*;

/// The CSR values of the hand-made trap entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupervisorTrap {
    /// mstatus: SPP = the privilege trapped from, SPIE = old SIE, SIE = 0,
    /// MPP = S (the `mret` lands in S-mode), MPV = GVA = 0.
    pub mstatus: usize,
    /// hstatus with SPV, SPVP and GVA describing the trap, when it came from
    /// a virtual mode (mstatus.MPV); None otherwise (hstatus is not touched).
    pub hstatus: Option<usize>,
}

/// The trap entry for a trap taken in M-mode with `mstatus`; `hstatus` reads
/// the hart's hstatus, called only for a trap from a virtual mode.
#[inline(always)]
pub fn into_supervisor(mstatus: usize, hstatus: impl FnOnce() -> usize) -> SupervisorTrap {
    let from_s = mstatus & MSTATUS_MPP_MASK == MSTATUS_MPP_S;
    let hstatus = (mstatus & MSTATUS_MPV != 0).then(|| {
        let mut h = (hstatus() & !(HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA)) | HSTATUS_SPV;
        if from_s {
            h |= HSTATUS_SPVP;
        }
        if mstatus & MSTATUS_GVA != 0 {
            h |= HSTATUS_GVA;
        }
        h
    });
    let mut new = mstatus
        & !(MSTATUS_SPP
            | MSTATUS_SPIE
            | MSTATUS_SIE
            | MSTATUS_MPP_MASK
            | MSTATUS_MPV
            | MSTATUS_GVA);
    if from_s {
        new |= MSTATUS_SPP;
    }
    if mstatus & MSTATUS_SIE != 0 {
        new |= MSTATUS_SPIE;
    }
    SupervisorTrap { mstatus: new | MSTATUS_MPP_S, hstatus }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MPP_U: usize = 0;
    const SUM: usize = 1 << 18;

    fn no_hstatus() -> usize {
        panic!("hstatus read for a trap not from a virtual mode")
    }

    #[test]
    fn from_u_mode_spp_clear_and_mret_to_s() {
        let t = into_supervisor(MPP_U | SUM | MSTATUS_SPP, no_hstatus);
        assert_eq!(t.mstatus & MSTATUS_SPP, 0);
        assert_eq!(t.mstatus & MSTATUS_MPP_MASK, MSTATUS_MPP_S);
        assert_eq!(t.mstatus & SUM, SUM, "bits the trap entry does not define are kept");
        assert_eq!(t.hstatus, None);
    }

    #[test]
    fn from_s_mode_spp_set() {
        let t = into_supervisor(MSTATUS_MPP_S, no_hstatus);
        assert_eq!(t.mstatus & MSTATUS_SPP, MSTATUS_SPP);
    }

    #[test]
    fn sie_moves_to_spie_and_is_cleared() {
        let on = into_supervisor(MSTATUS_MPP_S | MSTATUS_SIE, no_hstatus);
        assert_eq!(on.mstatus & (MSTATUS_SIE | MSTATUS_SPIE), MSTATUS_SPIE);
        let off = into_supervisor(MSTATUS_MPP_S | MSTATUS_SPIE, no_hstatus);
        assert_eq!(off.mstatus & (MSTATUS_SIE | MSTATUS_SPIE), 0, "old SPIE is not kept");
    }

    #[test]
    fn from_vs_mode_goes_to_hs_with_spv_spvp() {
        let t = into_supervisor(MSTATUS_MPP_S | MSTATUS_MPV, || HSTATUS_GVA);
        assert_eq!(t.mstatus & (MSTATUS_MPV | MSTATUS_GVA), 0, "the trap lands in HS (V=0)");
        assert_eq!(t.hstatus, Some(HSTATUS_SPV | HSTATUS_SPVP), "stale GVA cleared");
    }

    #[test]
    fn from_vu_mode_with_guest_address() {
        let other = 1 << 22; // hstatus.VTSR, untouched
        let t = into_supervisor(MPP_U | MSTATUS_MPV | MSTATUS_GVA, || other | HSTATUS_SPVP);
        assert_eq!(t.hstatus, Some(other | HSTATUS_SPV | HSTATUS_GVA));
        assert_eq!(t.mstatus & MSTATUS_SPP, 0);
    }
}
