"""The sign-in form: Django's AuthenticationForm, labelled for the email login."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", max_length=255,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
