from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import Role, Team, User


class SignupForm(UserCreationForm[User]):
    """Username, optional email and the password twice, checked by the password validators."""

    class Meta:
        model = User
        fields = ["username", "email"]
        help_texts = {"email": "Optional. Only used if you forget your password."}


class TeamForm(forms.ModelForm[Team]):
    class Meta:
        model = Team
        fields = ["name"]
        widgets = {"name": forms.TextInput(attrs={"placeholder": "e.g. Research"})}


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InviteForm(forms.Form):
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.EDITOR,
        help_text="Owners manage members and invites; editors edit the team's templates; "
        "viewers use them.",
    )
