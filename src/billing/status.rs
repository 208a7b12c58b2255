//! A bill's status from its amounts.

use crate::domain::BillStatus;

/// The status of a bill that was `status`, with `paid` (payments less
/// completed refunds, minor units) of `total` paid. Drafts and void bills
/// keep their status; an issued bill is `paid` when nothing is left (a bill
/// of nothing is paid on issue), `partially_paid` when some is, else `issued`.
pub fn settle(status: BillStatus, total: i64, paid: i64) -> BillStatus {
    match status {
        BillStatus::Draft | BillStatus::Void => status,
        _ if paid >= total => BillStatus::Paid,
        _ if paid > 0 => BillStatus::PartiallyPaid,
        _ => BillStatus::Issued,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_amounts() {
        use BillStatus::*;
        assert_eq!(settle(Issued, 1000, 0), Issued);
        assert_eq!(settle(Issued, 1000, 1), PartiallyPaid);
        assert_eq!(settle(PartiallyPaid, 1000, 1000), Paid);
        assert_eq!(settle(Paid, 1000, 400), PartiallyPaid);
        assert_eq!(settle(Paid, 1000, 0), Issued);
        assert_eq!(settle(Issued, 0, 0), Paid);
        assert_eq!(settle(Draft, 1000, 0), Draft);
        assert_eq!(settle(Void, 1000, 0), Void);
    }
}
