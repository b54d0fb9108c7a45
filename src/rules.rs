//! The eight rules of the seed article ("Duo: Creating Backup Codes"), each
//! in exactly one function named for it. Everything else calls these; a
//! rule is changed here or nowhere.

use crate::exit::{Status, fail};
use crate::model::{Device, DeviceKind, Via};
use anyhow::Result;

/// Rule 1: a user's devices are ordered; the first is the primary ("the
/// device at the top of your Authentication Methods").
pub fn primary_device(devices: &[Device]) -> Option<&Device> {
    devices.first()
}

/// Rule 2: whether a device can receive SMS. A landline never can; a mobile
/// phone can unless the operator says otherwise; a tablet or token cannot.
/// `requested` is the operator's `--sms` (`Some(true)`) or `--no-sms`
/// (`Some(false)`); asking for SMS on a device that cannot is refused.
pub fn sms_capability(kind: DeviceKind, requested: Option<bool>) -> Result<bool> {
    match (kind, requested) {
        (DeviceKind::Mobile, r) => Ok(r.unwrap_or(true)),
        (_, Some(true)) => Err(fail(
            Status::Usage,
            format!("a {} cannot receive SMS: --sms is refused", kind.as_str()),
        )),
        (_, _) => Ok(false),
    }
}

/// The way a new set will reach the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathChoice {
    /// Rule 3: text the codes to this device.
    Sms(Device),
    /// Rule 4: the helpdesk generates bypass codes after an identity check.
    /// `hint` names another device that could receive SMS, if any.
    Helpdesk { hint: Option<String> },
}

/// Rule 3: SMS path. When the chosen device is SMS-capable, a new set is
/// texted to that phone ("Text me new codes") and the operator never sees it.
pub fn sms_path(device: &Device) -> Option<PathChoice> {
    device.sms.then(|| PathChoice::Sms(device.clone()))
}

/// Rule 4: helpdesk path. When the primary device cannot receive SMS, or
/// there is no device at all, the helpdesk issues bypass codes, only after
/// verifying the person's identity, and shows them once to the operator.
pub fn helpdesk_path(devices: &[Device]) -> PathChoice {
    let hint = devices.iter().skip(1).find(|d| d.sms).map(|d| {
        format!(
            "device {} ({}{}) can receive SMS: `--device {}` texts the codes there instead",
            d.id,
            d.kind.as_str(),
            d.phone
                .as_ref()
                .map(|p| format!(" {}", p.masked()))
                .unwrap_or_default(),
            d.id
        )
    });
    PathChoice::Helpdesk { hint }
}

/// Whether the operator is shown the codes of a set sent this way (rules 3
/// and 4): never for SMS, exactly once for the helpdesk path.
pub fn codes_shown_to_operator(via: Via) -> bool {
    via == Via::Helpdesk
}

/// Chooses the path for `issue-codes` from the user's devices and the
/// operator's `--device` and `--via` (docs/contract.md, "How the path is chosen").
pub fn choose_path(
    devices: &[Device],
    device: Option<i64>,
    via: Option<Via>,
) -> Result<PathChoice> {
    if let Some(id) = device {
        if via == Some(Via::Helpdesk) {
            return Err(fail(
                Status::Usage,
                "--device names a phone to text; it cannot be combined with --via helpdesk",
            ));
        }
        let d = devices
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| fail(Status::NotFound, format!("this user has no device {id}")))?;
        return sms_path(d).ok_or_else(|| {
            fail(
                Status::Usage,
                format!("device {id} ({}) cannot receive SMS", d.kind.as_str()),
            )
        });
    }
    match via {
        Some(Via::Helpdesk) => Ok(helpdesk_path(devices)),
        Some(Via::Sms) => devices.iter().find_map(sms_path).ok_or_else(|| {
            fail(
                Status::Usage,
                "--via sms is refused: this user has no SMS-capable device",
            )
        }),
        None => Ok(primary_device(devices)
            .and_then(sms_path)
            .unwrap_or_else(|| helpdesk_path(devices))),
    }
}

/// Rule 5: each code works once (or `uses` times when a set is issued with
/// `--uses`). Spending a use leaves `uses_left - 1`; a code with no use
/// left is not accepted.
pub fn spend_one_use(uses_left: i64) -> Option<i64> {
    (uses_left > 0).then(|| uses_left - 1)
}

/// Rule 6: any new set invalidates all old codes, including unused ones.
/// Given the sets a new set would end (the active ones, and older ones
/// still pending), returns those it does end; `--preserve-existing` (an
/// explicit helpdesk override, as Duo offers) keeps them.
pub fn sets_ended_by_new_set(active_sets: &[i64], preserve_existing: bool) -> Vec<i64> {
    if preserve_existing {
        Vec::new()
    } else {
        active_sets.to_vec()
    }
}

/// Rule 7: when a user has used them all up, they can get a new set the
/// same way. Issuance never depends on codes left; this is what the user
/// is told when the last one goes.
pub fn used_up_advice(remaining: i64) -> Option<&'static str> {
    (remaining == 0).then_some(
        "that was the user's last backup code: issue a new set the same way (codedesk issue-codes)",
    )
}

/// Rule 8: tell the user to keep codes "somewhere that is not your phone",
/// with what the set allows (rule 5, or `--uses`) and when it ends
/// (`expires`: the set's expiry as shown elsewhere, `None` for never), so
/// the user is never told "once" of a set whose codes work three times.
pub fn keep_codes_advice(uses: u32, expires: Option<&str>) -> String {
    let mut s = String::from(
        "Write these codes down and keep them somewhere that is not your phone, \
such as your wallet or your password manager.",
    );
    match uses {
        1 => s.push_str(" Each code works once."),
        n => s.push_str(&format!(" Each code works {n} times.")),
    }
    if let Some(at) = expires {
        s.push_str(&format!(" They expire {at}."));
    }
    s.push_str(" A new set replaces all of these.");
    s
}

// ------------------------------------------------------------------------
// The checks the store applies inside its write transactions.

/// The identity check that gates adding a device to `user`: none for a
/// user created in this same transaction (`created_here`), else the run's
/// attestation, else exit 3 (a new device changes where codes go).
pub fn enrolment_check<'a>(
    user: &crate::model::Username,
    created_here: bool,
    check: Option<&'a crate::store::NewCheck>,
) -> Result<Option<&'a crate::store::NewCheck>> {
    match check {
        _ if created_here => Ok(None),
        Some(c) => Ok(Some(c)),
        None => Err(fail(
            Status::Identity,
            format!(
                "{} already exists: adding a device needs a passed identity check; nothing enrolled",
                user.as_str()
            ),
        )),
    }
}

/// Where a new device goes among the user's (lowest and highest position,
/// if any): `(primary, position)`. The first device, or one asked to be
/// primary, goes on top (rule 1).
pub fn new_device_position(min: Option<i64>, max: Option<i64>, primary: bool) -> (bool, i64) {
    let primary = primary || min.is_none();
    let position = if primary {
        min.map_or(0, |m| m - 1)
    } else {
        max.map_or(0, |m| m + 1)
    };
    (primary, position)
}

/// Exit 3: the store itself refuses helpdesk codes without a passed check.
pub fn require_check_for(via: Via, check_id: Option<i64>) -> Result<()> {
    if via == Via::Helpdesk && check_id.is_none() {
        return Err(fail(
            Status::Identity,
            "no helpdesk-path codes without a passed identity check",
        ));
    }
    Ok(())
}

/// One more rejection: `(consecutive rejections, locked by this one)`.
pub fn after_rejection(attempts: i64, locked: bool, threshold: u32) -> (i64, bool) {
    let attempts = attempts + 1;
    (attempts, !locked && attempts >= i64::from(threshold))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Phone;

    #[test]
    fn new_devices_go_on_top_only_when_first_or_asked() {
        assert_eq!(new_device_position(None, None, false), (true, 0));
        assert_eq!(new_device_position(Some(-1), Some(3), false), (false, 4));
        assert_eq!(new_device_position(Some(-1), Some(3), true), (true, -2));
    }

    fn dev(id: i64, kind: DeviceKind, sms: bool) -> Device {
        Device {
            id,
            kind,
            phone: kind
                .has_phone()
                .then(|| Phone::parse(&format!("+1507222{:04}", id)).unwrap()),
            sms,
            label: None,
        }
    }

    #[test]
    fn rule1_primary_device_is_the_first() {
        let ds = [
            dev(7, DeviceKind::Landline, false),
            dev(3, DeviceKind::Mobile, true),
        ];
        assert_eq!(primary_device(&ds).unwrap().id, 7);
        assert!(primary_device(&[]).is_none());
    }

    #[test]
    fn rule2_sms_capability() {
        assert!(sms_capability(DeviceKind::Mobile, None).unwrap());
        assert!(!sms_capability(DeviceKind::Mobile, Some(false)).unwrap());
        for k in [DeviceKind::Landline, DeviceKind::Tablet, DeviceKind::Token] {
            assert!(!sms_capability(k, None).unwrap());
            assert!(!sms_capability(k, Some(false)).unwrap());
            let e = sms_capability(k, Some(true)).unwrap_err();
            assert_eq!(crate::exit::status_of(&e), Status::Usage);
        }
    }

    #[test]
    fn rule3_sms_path_when_chosen_device_can_text() {
        let m = dev(1, DeviceKind::Mobile, true);
        assert_eq!(
            choose_path(std::slice::from_ref(&m), None, None).unwrap(),
            PathChoice::Sms(m.clone())
        );
        assert!(sms_path(&dev(2, DeviceKind::Mobile, false)).is_none());
        assert!(!codes_shown_to_operator(Via::Sms));
    }

    #[test]
    fn rule4_helpdesk_path_when_primary_cannot_text_or_no_device() {
        assert_eq!(
            choose_path(&[], None, None).unwrap(),
            PathChoice::Helpdesk { hint: None }
        );
        let ds = [
            dev(7, DeviceKind::Landline, false),
            dev(3, DeviceKind::Mobile, true),
        ];
        match choose_path(&ds, None, None).unwrap() {
            PathChoice::Helpdesk { hint: Some(h) } => assert!(h.contains("--device 3"), "{h}"),
            other => panic!("{other:?}"),
        }
        // --device naming the later mobile takes the SMS path
        assert_eq!(
            choose_path(&ds, Some(3), None).unwrap(),
            PathChoice::Sms(ds[1].clone())
        );
        // --via helpdesk is always possible
        assert!(matches!(
            choose_path(
                &[dev(1, DeviceKind::Mobile, true)],
                None,
                Some(Via::Helpdesk)
            )
            .unwrap(),
            PathChoice::Helpdesk { .. }
        ));
        assert!(codes_shown_to_operator(Via::Helpdesk));
    }

    #[test]
    fn path_choice_refusals() {
        let ds = [dev(7, DeviceKind::Landline, false)];
        let st = |r: Result<PathChoice>| crate::exit::status_of(&r.unwrap_err());
        assert_eq!(st(choose_path(&ds, None, Some(Via::Sms))), Status::Usage);
        assert_eq!(st(choose_path(&ds, Some(7), None)), Status::Usage);
        assert_eq!(st(choose_path(&ds, Some(99), None)), Status::NotFound);
    }

    #[test]
    fn rule5_each_code_works_once() {
        assert_eq!(spend_one_use(1), Some(0));
        assert_eq!(spend_one_use(0), None);
        assert_eq!(spend_one_use(3), Some(2));
    }

    #[test]
    fn rule6_new_set_invalidates_all_old_codes() {
        assert_eq!(sets_ended_by_new_set(&[4, 9], false), vec![4, 9]);
        assert!(sets_ended_by_new_set(&[4, 9], true).is_empty());
    }

    #[test]
    fn rule7_used_up_user_is_told_to_get_a_new_set() {
        assert!(used_up_advice(0).unwrap().contains("issue a new set"));
        assert!(used_up_advice(1).is_none());
    }

    #[test]
    fn rule8_keep_codes_somewhere_that_is_not_your_phone() {
        let once = keep_codes_advice(1, None);
        assert!(once.contains("somewhere that is not your phone"));
        assert!(once.contains("Each code works once.") && !once.contains("expire"));
        let bounded = keep_codes_advice(3, Some("2026-11-29T12:00:00Z"));
        assert!(bounded.contains("somewhere that is not your phone"));
        assert!(bounded.contains("Each code works 3 times."), "{bounded}");
        assert!(
            bounded.contains("They expire 2026-11-29T12:00:00Z."),
            "{bounded}"
        );
        assert!(!bounded.contains("once"), "{bounded}");
    }
}
