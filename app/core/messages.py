"""Messages people read, by error code, in their language."""

from flask_babel import lazy_gettext as _l

MESSAGES = {
    "bad_request": _l("The request could not be understood."),
    "unauthenticated": _l("Please sign in first."),
    "invalid_credentials": _l("Email or password is wrong."),
    "invalid_token": _l("The API token is missing, wrong or revoked."),
    "forbidden": _l("You are not allowed to do this."),
    "not_found": _l("Not found."),
    "method_not_allowed": _l("This method is not allowed here."),
    "conflict": _l("This conflicts with the current state."),
    "busy": _l("The system is busy with the same item; please try again in a moment."),
    "validation_error": _l("Some fields are missing or invalid."),
    "rate_limited": _l("Too many attempts; please try again in %(seconds)s s."),
    "csrf_failed": _l("The form expired or was sent from elsewhere; please reload the page and try again."),
    "too_large": _l("The upload is too large."),
    "internal_error": _l("Something went wrong on our side; nothing was saved. Please try again."),
    "no_published_list": _l("No version of the resource list has been published yet."),
    "unknown_format": _l("Unknown export format."),
    "duplicate": _l("This already exists."),
    "role_unknown": _l("Unknown role."),
    "not_eligible": _l("This account cannot be certified for that program."),
}


def message_for(code: str, fallback: str | None = None) -> str:
    text = MESSAGES.get(code)
    if text is not None:
        return str(text)
    return fallback or code.replace("_", " ")

MESSAGES.update({
    "idempotency_key_reused": _l("This Idempotency-Key was already used for a different request."),
    "slot_taken": _l("This time is already booked (or too close to another booking). Please pick another slot."),
    "outside_opening_hours": _l("The venue is not open for the whole of this time."),
    "not_on_slot_boundary": _l("Bookings start and end on the slot grid (every %(slot_minutes)s minutes)."),
    "too_short": _l("The booking is too short: at least %(min_minutes)s minutes."),
    "too_long": _l("The booking is too long: at most %(max_minutes)s minutes."),
    "too_late_to_book": _l("This slot has already started or is too soon to book."),
    "too_far_ahead": _l("Bookings open at most %(max_advance_days)s days ahead."),
    "resource_inactive": _l("This resource cannot be booked at the moment."),
    "suspended": _l("Subsidised bookings are suspended for this account after repeated no-shows."),
    "voucher_not_usable": _l("This voucher cannot be used for this booking."),
    "cancel_deadline_passed": _l("The free cancellation period has passed."),
    "not_cancellable": _l("This booking can no longer be changed."),
})

MESSAGES.update({
    "batch_exhausted": _l("This batch has no vouchers or budget left for that many."),
    "voucher_state_changed": _l("The voucher changed meanwhile; please reload."),
    "quota_state_changed": _l("The quota entry changed meanwhile; please reload."),
    "period_closed": _l("This accounting period is closed."),
    "unbalanced_entry": _l("An accounting entry did not balance; nothing was saved."),
})

MESSAGES.update({
    "not_checked_in": _l("This booking is not checked in."),
    "state_changed": _l("This booking was changed by someone else at the same moment; "
                        "please reload to see where it stands now."),
    "too_early_for_no_show": _l("It is too early to record this booking as a no-show."),
    "not_ended": _l("This booking has not ended yet."),
})

MESSAGES.update({
    "overpaid": _l("That is more than is still to be paid for this booking."),
    "not_payable": _l("This booking takes no payment in its current state."),
    "paid_exceeds_new_price": _l("More has been paid than the new time would cost; the venue "
                                 "must refund the difference before the booking can be moved."),
    "refund_too_large": _l("That is more than can still be refunded of this payment."),
    "payments_not_configured": _l("Online payment with this provider is not available."),
    "nothing_due": _l("Nothing is left to pay for this booking."),
    "provider_unavailable": _l("The payment provider could not be reached or refused; nothing "
                               "was changed. Please try again in a moment."),
})

MESSAGES.update({
    "month_not_closed": _l("The month has not ended yet: its statement can be previewed, and "
                           "issued once the month is over."),
    "already_settled": _l("This statement is already settled with another payment reference."),
    "not_issued": _l("Issue the statement before recording its payment."),
    "period_open": _l("Only a past month can be closed."),
})

MESSAGES.update({
    "price_changed": _l("The price differs from the one shown (a choice was changed, or something "
                        "changed meanwhile). Nothing was booked: check the price below and "
                        "confirm again."),
})

MESSAGES.update({
    "email_not_verified": _l("Confirm your email address first: follow the link in the email we "
                             "sent you (your account page can send it again)."),
    "wrong_password": _l("The current password is wrong."),
    "email_taken": _l("This email address cannot be registered. If it is yours, sign in or "
                      "reset your password."),
    "link_invalid": _l("This link is not valid. Copy the whole link from the email, or ask for "
                       "a new one."),
    "link_used": _l("This link has already been used. Ask for a new one if you still need it."),
    "link_expired": _l("This link has expired. Ask for a new one."),
    "already_verified": _l("Your email address is already confirmed."),
    "own_account": _l("You cannot disable your own account or remove your own administrator "
                      "role; ask another administrator."),
    "account_erased": _l("This account's personal data was deleted; it cannot be enabled again."),
    "account_inactive": _l("This account is disabled. Please contact an administrator."),
    "account_disabled": _l("This account is disabled; enable it before sending a reset link."),
})


def error_message(err) -> str:
    """The person-readable message of an AppError, with its parameters filled in."""
    text = message_for(err.code, err.message)
    if err.params and "%(" in text:
        try:
            return text % err.params
        except (KeyError, TypeError, ValueError):
            return text
    return text

MESSAGES.update({
    "confirmation_invalid": _l("That is not the confirmation code sent to the creator, or it has "
                               "expired. Send a new code, or book as self-pay."),
    "confirmation_required": _l("The creator's vouchers and quota can only be used with the "
                                "confirmation code sent to them."),
})
