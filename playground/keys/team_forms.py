"""Forms of the team credential pages: the budget of one member or credential, the team setting."""

from __future__ import annotations

from django import forms

from playground.accounts.models import Team

# A generous ceiling: a budget is a number a person types, never a way to make sums overflow.
MAX_MONTHLY_TOKENS = 10**12


class BudgetForm(forms.Form):
    """A monthly token budget; left empty, there is none."""

    monthly_tokens = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MONTHLY_TOKENS,
        label="Monthly tokens",
        widget=forms.NumberInput(attrs={"placeholder": "No limit", "inputmode": "numeric"}),
        error_messages={
            "invalid": "Enter a whole number of tokens, or leave it empty for no limit.",
            "min_value": "A budget is at least 1 token; leave it empty for no limit.",
            "max_value": f"At most {MAX_MONTHLY_TOKENS:,} tokens a month.",
        },
    )


class TeamKeySettingsForm(forms.ModelForm[Team]):
    class Meta:
        model = Team
        fields = ["editors_add_credentials"]
        labels = {"editors_add_credentials": "Editors may add team keys"}
        help_texts = {
            "editors_add_credentials": "Owners always may. Only owners delete keys, replace "
            "them, set budgets and see usage."
        }
