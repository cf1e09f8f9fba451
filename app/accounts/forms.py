from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from app.accounts.passwords import MAX_PASSWORD_LENGTH
from app.accounts.registration import PHONE
from app.accounts.service import MIN_PASSWORD_LENGTH

# No deliverability or special-use-domain check: internal accounts may live under .local.


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


_LENGTH = _l("Between %(min)s and %(max)s characters.")
_REPEAT = _l("The two new passwords differ.")


def _new_password_fields():
    return (
        PasswordField(_l("New password"), validators=[
            DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                                   message=_LENGTH)]),
        PasswordField(_l("New password again"), validators=[
            DataRequired(), EqualTo("new_password", message=_REPEAT)]),
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(), Length(max=200)])
    new_password, repeat = _new_password_fields()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=200)])


class ResetPasswordForm(FlaskForm):
    new_password, repeat = _new_password_fields()


class RegisterForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[
        DataRequired(), Length(max=200), Regexp(r"^[^@\s]+@[^@\s]+$",
                                                message=_l("Not a valid email address."))])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    phone = TelField(_l("Mobile phone"), validators=[
        DataRequired(), Regexp(PHONE, message=_l("Not a phone number."))])
    new_password, repeat = _new_password_fields()
    consent = BooleanField(validators=[
        DataRequired(message=_l("Please read the privacy notice and agree to it."))])
