"""The domain's problems as a person at a desk reads them: one place maps each problem type
to plain words (translated by the catalogs); a type not listed reads as the general one."""


def N_(message: str) -> str:
    """Marks a message for the catalogs; translated where it is shown."""
    return message


PROBLEMS = {
    "insufficient-balance": N_("The volunteer does not have enough time credits for this."),
    "insufficient-stock": N_("This reward is out of stock."),
    "per-volunteer-limit": N_("The volunteer has already had as many of this reward as allowed."),
    "wrong-code": N_("That redemption code is not right. Ask the volunteer to check it."),
    "wrong-pin": N_("That PIN is not right. Ask the volunteer to type it again."),
    "pin-required": N_("The volunteer's PIN is needed to reserve at the desk."),
    "pin-not-set": N_("The volunteer has not set a PIN yet; a coordinator can set one."),
    "redemption-expired": N_("This reservation has expired. Reserve again if needed."),
    "redemption-fulfilled": N_("This reservation has already been handed out."),
    "redemption-cancelled": N_("This reservation was cancelled."),
    "too-many-attempts": N_("Too many wrong tries. Please wait a while and try again."),
    "volunteer-not-found": N_("No volunteer has that number."),
    "reward-not-found": N_("No reward has that number."),
    "redemption-not-found": N_("No reservation has that number."),
    "outside-scope": N_("This is not something this desk may do."),
    "forbidden": N_("This is not something you may do."),
    "volunteer-erased": N_("This volunteer's records have been erased."),
    "invalid-input": N_("Something in the form is not filled in right. Please check it."),
    "store-unavailable": N_("The system is busy or down for a moment. Please try again soon."),
    "lagging": N_("The figures are still being updated. Please try again in a moment."),
    # --- kiosk ---
    "cannot-check-in": N_(
        "This volunteer cannot check in now: they are already checked in, already checked "
        "out, or still on the waiting list."
    ),
    "cannot-check-out": N_("This volunteer cannot check out: they are not checked in here."),
    "check-in-limit": N_(
        "This volunteer has already checked in as many times today as the rules allow."
    ),
    "overlapping-service": N_(
        "This volunteer is checked in at another activity now. They need to check out there first."
    ),
    "activity-over": N_("This activity has ended; check-in is closed."),
    "invalid-check-out": N_(
        "Check-out must be after check-in. Please wait a minute and try again."
    ),
    "time-in-future": N_("That time is in the future. Please check the tablet's clock."),
    "already-signed-up": N_("This volunteer is already signed up for this activity."),
    "activity-not-found": N_("No activity has that number."),
    "signup-not-found": N_("This volunteer is not signed up for this activity."),
    "invalid-volunteer-number": N_(
        "That is not a volunteer number: a digit is wrong or missing. Please type it again."
    ),
}
# The categories of service (ledger.activities.Category), as people say them.
CATEGORIES = {
    "elder_care": N_("Elder care"),
    "disability": N_("Help for people with disabilities"),
    "children": N_("Children"),
    "environment": N_("Environment"),
    "community_cleanup": N_("Community clean-up"),
    "legal_aid": N_("Legal aid"),
    "health": N_("Health"),
    "traffic": N_("Traffic"),
    "culture": N_("Culture"),
    "emergency": N_("Emergency help"),
    "blood_donation": N_("Blood donation"),
    "fitness": N_("Fitness"),
    "science": N_("Science"),
    "other": N_("Other"),
}
GENERAL = N_("That could not be done. Please check and try again.")
REFUSALS = {
    "csrf": N_(
        "This form was not accepted: it did not come from this page as it was shown. "
        "Go back, reload the page and try again."
    ),
    "session": N_("You are not signed in, or your session has ended. Please sign in again."),
    "wrong-token": N_("That sign-in code is not right, or it has expired or been withdrawn."),
    "not-found": N_("There is no such page."),
    "link": N_(
        "This sign-in link has already been used or has expired. "
        "Ask a coordinator or the desk for a new one."
    ),
    "desk-only": N_("This page is for a redemption desk."),
    "volunteer-only": N_("This page is for a volunteer signed in by their link."),
    "unavailable": N_("The system is busy or down for a moment. Please try again soon."),
    # --- kiosk ---
    "kiosk-only": N_("This page is for an activity's coordinator."),
    "kiosk-other-org": N_(
        "This activity is not one of your organisation's: its kiosk is for its own coordinators."
    ),
    # --- audit desk ---
    "audit-only": N_("This page is for an auditor."),
    # --- coordinator's console ---
    "coord-only": N_("This page is for a coordinator."),
}


def problem_message(code: str) -> str:
    return PROBLEMS.get(code, GENERAL)


STATES = {
    "reserved": N_("reserved"),
    "fulfilled": N_("handed out"),
    "cancelled": N_("cancelled"),
    "expired": N_("expired"),
}

# A volunteer's own pages (api/pages/me.py): the refusals they can meet, in their words.
PROBLEMS |= {
    "not-family": N_("You can only give hours to a family member linked to you."),
    "invalid-recipient": N_("Please choose the family member to give hours to."),
    "invalid-amount": N_("Please write how many hours and minutes to give (more than none)."),
    "full": N_("This activity is full."),
    "already-signed-up": N_("You are already signed up for this activity."),
    "activity-over": N_("This activity is over."),
    "activity-not-found": N_("No activity has that number. Please check it."),
    "signup-not-found": N_("You are not signed up for this activity."),
    "not-started": N_("This activity has not started yet. Check in when it starts."),
    "not-checked-in": N_("You have not checked in yet."),
    "wrong-check-in-code": N_("That check-in code is not right. Ask the organiser for it."),
    "code-or-pin": N_("Please type the activity's check-in code."),
    "check-in-limit": N_("You have checked in as many times today as allowed."),
    "overlapping-service": N_("You are checked in at another activity at this time."),
    "window-open": N_("This cannot be done while the activity is still open."),
    "dispute-open": N_("There is already an open question about this service."),
    "reason-required": N_("Please write what is wrong."),
    "record-not-found": N_("This service is not in your record."),
}
RELATIONS = {
    "spouse": N_("spouse"),
    "parent": N_("parent"),
    "child": N_("child"),
    "grandparent": N_("grandparent"),
    "grandchild": N_("grandchild"),
    "sibling": N_("sibling"),
}
SIGNUP_STATES = {
    "accepted": N_("signed up"),
    "waitlisted": N_("on the waiting list"),
    "cancelled": N_("cancelled"),
    "checked_in": N_("checked in"),
    "checked_out": N_("checked out, waiting to be confirmed"),
    "verified": N_("confirmed"),
    "rejected": N_("not confirmed"),
}
PROBLEMS["recipient-cap-reached"] = N_("Your family member cannot receive that many hours now.")
ENTRY_KINDS = {
    "service": N_("Service"),
    "reversal": N_("Correction of a service"),
    "gift": N_("Gift"),
    "donation": N_("Donation"),
    "exchange": N_("Exchange"),
    "redemption": N_("Reward"),
}
ATTENDANCE_DONE = {
    "sign-up": N_("Done: your signup is recorded."),
    "cancel": N_("Your signup is cancelled."),
    "check-in": N_("You are checked in. Check out when you leave."),
    "check-out": N_("You are checked out. The organiser will confirm your time."),
}
# The same problems as the volunteer reads them about themself (first; else PROBLEMS).
MINE = {
    "insufficient-balance": N_("You do not have enough time credits for this."),
    "volunteer-erased": N_("Your records have been erased."),
}


def my_problem_message(code: str) -> str:
    return MINE.get(code) or problem_message(code)


# The auditor's desk (api/pages/audit.py).
PROBLEMS |= {
    "certificate-not-found": N_("No certificate has that number."),
    "invalid-certificate-number": N_("That is not a certificate number. Please check it."),
}
BUNDLE_PROBLEMS = {
    "bundle-missing": N_("Please choose a bundle file (JSON) to check."),
    "bundle-too-large": N_("This file is larger than 2 MiB: it is not a certificate bundle."),
    "bundle-not-json": N_("This file is not JSON: it is not a certificate bundle."),
}
CHECKPOINT_OUTCOMES = {
    "same": N_("The checkpoint you kept is the log's latest: same size, same root."),
    "consistent": N_(
        "Consistent: the log as you kept it is the start of the log now; nothing was changed."
    ),
    "different": N_(
        "NOT consistent: the log now does not contain the log as you kept it. "
        "Something was changed: this is a finding."
    ),
    "shorter": N_(
        "The log is shorter than the checkpoint you kept: entries are missing. This is a finding."
    ),
    "forged": N_(
        "Refused: this is not a checkpoint signed with this log's key "
        "(its text or its signature is wrong)."
    ),
}
# The audit trail's events in plain words (api/pages/audit.py); a type not listed is shown
# as its event type.
EVENTS = {
    "Volunteer.Registered": N_("Volunteer registered"),
    "Volunteer.FamilyLinked": N_("Family member linked"),
    "Volunteer.MembershipTransferred": N_("Moved to another organisation"),
    "Volunteer.PinSet": N_("PIN set"),
    "Volunteer.Erased": N_("Personal data erased"),
    "VolunteerNumber.Claimed": N_("Volunteer number given"),
    "Account.Opened": N_("Time account opened"),
    "Account.ServiceCredited": N_("Service hours credited"),
    "Account.ServiceCorrected": N_("Service hours corrected"),
    "Account.TransferSent": N_("Hours given or spent"),
    "Account.TransferReceived": N_("Hours received"),
    "Signup.Requested": N_("Signed up"),
    "Signup.Cancelled": N_("Signup cancelled"),
    "Signup.CheckedIn": N_("Checked in"),
    "Signup.CheckedOut": N_("Checked out"),
    "Signup.Verified": N_("Service time confirmed"),
    "Signup.Corrected": N_("Service time corrected"),
    "Certificate.Issued": N_("Certificate issued"),
    "Redemption.Reserved": N_("Reward reserved"),
    "Redemption.Fulfilled": N_("Reward handed out"),
    "Redemption.Cancelled": N_("Reservation cancelled"),
    "Redemption.Expired": N_("Reservation expired"),
}

# The coordinator's console (api/pages/coord*.py): the problems as a coordinator reads them
# (first; else PROBLEMS; a bound not listed reads as "invalid-input").
COORD_PROBLEMS = {
    "outside-scope": N_(
        "This is outside your organisation: you may act only for it and the organisations under it."
    ),
    "forbidden-role": N_("This is not something you may do."),
    "organisation-not-found": N_("No organisation is chosen, or it does not exist."),
    "signup-not-found": N_("No signup has that number."),
    "backfill-not-found": N_("No back-fill has that number."),
    "dispute-not-found": N_("No dispute has that number."),
    "same-approver": N_(
        "You submitted this back-fill yourself: another coordinator must approve it."
    ),
    "already-decided": N_("This back-fill has already been approved or rejected."),
    "already-verified": N_(
        "This service time has already been decided. To change it, the volunteer can raise "
        "a dispute."
    ),
    "not-checked-out": N_("This cannot be verified: the volunteer has not checked out."),
    "dispute-resolved": N_("This dispute has already been resolved."),
    "unchanged-minutes": N_(
        "The record already has these minutes. To keep them, dismiss the dispute instead."
    ),
    "invalid-minutes": N_("Please write the minutes as a whole number from 0 to 1440 (24 hours)."),
    "reason-required": N_("Please write a reason."),
    "description-required": N_("Please describe the service."),
    "category-required": N_("Please choose a category."),
    "outside-backfill-window": N_("This service is too long ago to be back-filled."),
    "invalid-interval": N_(
        "The end must be after the start, and one back-fill covers at most 24 hours."
    ),
    "invalid-schedule": N_("The end must be after the start."),
    "time-in-future": N_("The service cannot end in the future."),
    "overlapping-service": N_("This volunteer already has service recorded at that time."),
    "already-completed": N_("This activity was already completed with another number served."),
    "not-started": N_("This activity has not started yet: complete it once it has started."),
    "invalid-status": N_("There is no such list."),
    "invalid-cursor": N_("That page of the list no longer exists. Start from the first page."),
    "nothing-chosen": N_("Please choose at least one to approve."),
    "duplicate-volunteer": N_("A volunteer with this ID document is already registered."),
    "invalid-name": N_("Please write the name again: it has characters that cannot be kept."),
    "invalid-id-document": N_("Please check the ID document's number."),
    "invalid-phone": N_("Please check the phone number."),
    "invalid-skill": N_("Please list fewer skills, each in a few words."),
    "invalid-birth-date": N_("Please check the birth date: it cannot be in the future."),
    "invalid-organisation": N_("Volunteers cannot belong to an exchange venue. Choose another."),
    "already-member": N_("The volunteer already belongs to that organisation."),
    "invalid-family-link": N_("A volunteer cannot be linked to themself."),
    "family-link-exists": N_("They are already linked, as another relation."),
    "no-family-request": N_("There is no such request waiting, or it was already answered."),
    "invalid-period": N_("Please check the period: at most a few years, the first date first."),
    "no-services": N_("That organisation recorded no confirmed service for them in that period."),
    "too-many-services": N_(
        "Too many services for one certificate. Please choose a shorter period."
    ),
}


def coord_problem_message(code: str) -> str:
    if code in COORD_PROBLEMS:
        return COORD_PROBLEMS[code]
    if code not in PROBLEMS and code.startswith("invalid-"):
        return PROBLEMS["invalid-input"]
    return problem_message(code)


ACTIVITY_STATES = {"published": N_("Published"), "completed": N_("Completed")}
BACKFILL_STATES = {
    "submitted": N_("waiting for a second coordinator"),
    "approved": N_("approved and credited"),
    "rejected": N_("rejected"),
}
