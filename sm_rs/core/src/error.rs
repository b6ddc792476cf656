//! Why an SM call failed, as a type: the firmware's enclave calls return
//! `Result<_, SmError>`, and `SmError::code` is the one place that turns it
//! into Keystone's number for a0 (docs/abi.md §1.3; Keystone's sm_err.h).

use crate::create_args::CreateError;
use crate::pmp_alloc::PmpError;
use keystone_abi::sm::err;

/// Every error an SM call can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmError {
    /// STOP with a reason Keystone does not define.
    Unknown,
    /// No enclave with that id (or not in a state the call can name).
    InvalidId,
    /// RUN of an enclave whose regions are gone.
    NotRunnable,
    /// DESTROY of an enclave that is running or still being created.
    NotDestroyable,
    /// EPM or UTM meets the SM, another enclave, or each other.
    RegionOverlaps,
    /// A malformed argument (the string says which check).
    IllegalArgument(&'static str),
    /// STOP/EXIT of an enclave that is not running.
    NotRunning,
    /// RESUME of an enclave that is not stopped (or has exited).
    NotResumable,
    /// No free enclave slot (or registry entry).
    NoFreeResource,
    /// A call the caller's world may not make.
    SbiProhibited,
    /// RUN of an enclave that already ran.
    NotFresh,
    /// A retired function id.
    Deprecated,
    /// A function id the SM does not implement.
    NotImplemented,
    /// PMP could not hold the region.
    Pmp(PmpError),
}

impl SmError {
    /// Keystone's error number for a0.
    pub const fn code(self) -> usize {
        match self {
            Self::Unknown => err::UNKNOWN_ERROR,
            Self::InvalidId => err::INVALID_ID,
            Self::NotRunnable => err::NOT_RUNNABLE,
            Self::NotDestroyable => err::NOT_DESTROYABLE,
            Self::RegionOverlaps => err::REGION_OVERLAPS,
            Self::IllegalArgument(_) => err::ILLEGAL_ARGUMENT,
            Self::NotRunning => err::NOT_RUNNING,
            Self::NotResumable => err::NOT_RESUMABLE,
            Self::NoFreeResource => err::NO_FREE_RESOURCE,
            Self::SbiProhibited => err::SBI_PROHIBITED,
            Self::NotFresh => err::NOT_FRESH,
            Self::Deprecated => err::DEPRECATED,
            Self::NotImplemented => err::NOT_IMPLEMENTED,
            // Keystone folds every PMP error into PMP_FAILURE at the SBI boundary.
            Self::Pmp(_) => err::PMP_FAILURE,
        }
    }
}

impl From<CreateError> for SmError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::IllegalArgument(why) => Self::IllegalArgument(why),
            CreateError::RegionOverlaps => Self::RegionOverlaps,
            CreateError::PmpFailure => Self::Pmp(PmpError::Invalid),
        }
    }
}

impl From<PmpError> for SmError {
    fn from(e: PmpError) -> Self {
        match e {
            PmpError::Overlap => Self::RegionOverlaps,
            other => Self::Pmp(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_keystones() {
        assert_eq!(SmError::Unknown.code(), 100000);
        assert_eq!(SmError::InvalidId.code(), 100001);
        assert_eq!(SmError::NotDestroyable.code(), 100005);
        assert_eq!(SmError::IllegalArgument("x").code(), 100008);
        assert_eq!(SmError::NotResumable.code(), 100010);
        assert_eq!(SmError::NotFresh.code(), 100016);
        assert_eq!(SmError::Pmp(PmpError::MaxReached).code(), 100003);
        assert_eq!(SmError::from(PmpError::Overlap).code(), 100006);
        assert_eq!(SmError::from(CreateError::PmpFailure).code(), 100003);
    }
}
